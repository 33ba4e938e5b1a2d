"""/readyz against a real outage: gunicorn on loopback reaching PostgreSQL through the fault-test TCP proxy
(salesproject/tests/live.py), which is cut and restored while the test probes."""

import time

import pytest
import requests
from django.db import connection

from salesproject.tests.live import LiveServer, TcpProxy, database_url, wait_for_no_other_sessions

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CONNECT_TIMEOUT = 2  # seconds (DATABASE_CONNECT_TIMEOUT): how long a blackholed connection attempt may hang


@pytest.fixture
def served(tmp_path):
    db = connection.settings_dict
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))).start()
    server = LiveServer(
        db_url=database_url(host="127.0.0.1", port=proxy.port),
        log_path=tmp_path / "gunicorn.log",
        workers=1,
        env={"DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT)},
    ).start()
    yield server, proxy
    server.stop()
    proxy.stop()
    wait_for_no_other_sessions()


def probe(server: LiveServer, path: str = "/readyz") -> tuple[int, dict, float]:
    started = time.monotonic()
    response = requests.get(server.url(path), timeout=30)
    return response.status_code, response.json(), time.monotonic() - started


@pytest.mark.parametrize("outage", ["refuse", "blackhole"])
def test_readyz_is_503_while_the_database_is_cut_and_200_once_it_is_back(served, outage):
    server, proxy = served
    status, body, _ = probe(server)
    assert (status, body["failed"]) == (200, []), body

    getattr(proxy, outage)()  # refused connections (server down) or unanswered ones (network gone)
    status, body, elapsed = probe(server)
    alive, _, _ = probe(server, "/healthz")

    assert status == 503, body
    assert body["status"] == "unavailable" and body["failed"] == ["database", "migrations", "task_queue"]
    assert body["checks"]["database"] == {"ok": False, "detail": "The database is unreachable."}
    assert elapsed < CONNECT_TIMEOUT + 3, f"the probe took {elapsed:.1f} s"
    assert alive == 200  # the process is up: liveness does not depend on the database

    proxy.restore()
    deadline = time.monotonic() + 15
    while (status := probe(server)[0]) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 200, server.log_tail()
    assert "readiness: database unreachable" in server.log_tail(200)
