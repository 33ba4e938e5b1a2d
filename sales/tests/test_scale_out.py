"""Two app instances behind a reverse proxy, one PostgreSQL: sales stay consistent, idempotency keys are shared.

Starts two gunicorn instances on loopback against the test database and a
round-robin proxy in front of them (nginx when it is installed, else
scripts/round_robin_proxy.py), then creates sales through both at once.
Skipped, saying why, when a server cannot start.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.db.models import Sum
from rest_framework.authtoken.models import Token

from inventory.models import StockLevel, StockMovement
from inventory.tests.factories import default_warehouse, stocked_variant
from sales.models import Sale

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(settings.BASE_DIR)
START_SECONDS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen, name: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.skip(f"{name} exited at start (code {process.returncode}); see {log}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # an answer (401): it is up
        except OSError:
            time.sleep(0.3)
    pytest.skip(f"{name} did not answer on port {port} within {START_SECONDS} s; see {log}")


def database_url() -> str:
    db = connections["default"].settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def nginx_config(directory: Path, port: int, backends: list[int]) -> Path:
    config = directory / "nginx.conf"
    servers = "".join(f"server 127.0.0.1:{backend};" for backend in backends)
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    config.write_text(
        f"daemon off; worker_processes 1; pid {directory}/nginx.pid; error_log {directory}/nginx-error.log;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log off; client_body_temp_path {temp['body']}; proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']}; uwsgi_temp_path {temp['uwsgi']}; scgi_temp_path {temp['scgi']};\n"
        f"  upstream app {{ {servers} keepalive 16; }}\n"
        f"  server {{ listen 127.0.0.1:{port}; location / {{\n"
        '    proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";\n'
        "    proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; } }\n"
        "}\n"
    )
    return config


@pytest.fixture(scope="module")
def cluster(django_db_setup):
    """Two gunicorn instances (two workers each) and a proxy; their ports and access logs."""
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    directory = Path(tempfile.mkdtemp(prefix="scale-out-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "salesproject.settings",
        "DJANGO_DEBUG": "0",
        "DATABASE_CONN_MAX_AGE": "60",
    }
    processes = []
    try:
        instances = []
        for name in ("a", "b"):
            port, log = free_port(), directory / f"{name}-access.log"
            process = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/gunicorn"),
                    "salesproject.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--timeout",
                    "60",
                    "--access-logfile",
                    str(log),
                    "--error-logfile",
                    str(directory / f"{name}-error.log"),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            instances.append((port, log))
        for (port, _), process, name in zip(instances, processes, ("a", "b"), strict=True):
            wait_until_up(port, process, f"gunicorn {name}", directory / f"{name}-error.log")
        proxy_port = free_port()
        backends = [port for port, _ in instances]
        if shutil.which("nginx"):
            config = nginx_config(directory, proxy_port, backends)
            command, proxy = ["nginx", "-c", str(config), "-p", str(directory)], "nginx"
        else:
            command = [
                sys.executable,
                str(ROOT / "scripts/round_robin_proxy.py"),
                "--listen",
                f"127.0.0.1:{proxy_port}",
                *(f"127.0.0.1:{port}" for port in backends),
            ]
            proxy = "round_robin_proxy.py"
        processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until_up(proxy_port, processes[-1], proxy, directory)
        yield {"proxy": proxy_port, "instances": instances, "proxy_name": proxy}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(directory, ignore_errors=True)


def post(port: int, token: str, body: dict, key: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sales/", data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def posts_seen(log: Path) -> int:
    return sum('"POST /api/v1/sales/' in line for line in log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.django_db(transaction=True)
def test_sales_through_both_instances_never_oversell(cluster, staff):
    default_warehouse()
    variant = stocked_variant(30)
    token = Token.objects.create(user=staff).key
    before = [posts_seen(log) for _, log in cluster["instances"]]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(
                lambda n: post(cluster["proxy"], token, {"items": [{"variant": variant.pk, "quantity": 1}]}, f"k-{n}"),
                range(40),
            )
        )

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] * 30 + [409] * 10, statuses
    assert {body["errors"][0]["code"] for status, body in answers if status == 409} == {"insufficient_stock"}
    level = StockLevel.objects.get(variant=variant)
    assert (level.on_hand, level.reserved) == (30, 30)
    ledger = StockMovement.objects.filter(variant=variant).aggregate(
        on_hand=Sum("on_hand_change"), reserved=Sum("reserved_change")
    )
    assert (ledger["on_hand"], ledger["reserved"]) == (30, 30)
    assert Sale.objects.count() == 30
    after = [posts_seen(log) for _, log in cluster["instances"]]
    assert all(a > b for a, b in zip(after, before, strict=True)), "the proxy should use both instances"


@pytest.mark.django_db(transaction=True)
def test_one_idempotency_key_sent_to_both_instances_makes_one_sale(cluster, staff):
    default_warehouse()
    variant = stocked_variant(10)
    token = Token.objects.create(user=staff).key
    body = {"items": [{"variant": variant.pk, "quantity": 2}]}
    ports = [port for port, _ in cluster["instances"]] * 3 + [cluster["proxy"]] * 2

    with ThreadPoolExecutor(max_workers=len(ports)) as pool:
        answers = list(pool.map(lambda port: post(port, token, body, "same-key"), ports))

    assert {status for status, _ in answers} == {201}, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    assert Sale.objects.count() == 1
    level = StockLevel.objects.get(variant=variant)
    assert (level.on_hand, level.reserved) == (10, 2)
