"""Live-server plumbing for fault-injection tests: gunicorn on loopback, a TCP proxy to PostgreSQL, an HTTP client.

The server runs in its own processes against pytest-django's test database,
so a test that uses it must be `django_db(transaction=True)`: the server only
sees committed rows. Nothing here knows about sales; the tests bring the
scenario and the checks.
"""

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

READY_TIMEOUT = 60.0
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "faults"


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel picks it; a race with another process is unlikely)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    """The URL of the database the tests use (pytest-django's test copy), optionally through another host/port."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = host or db.get("HOST") or "127.0.0.1"
    port = port or db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{quote(db['NAME'], safe='')}"


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent`, read from /proc (gunicorn's workers of a master)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == parent and fields[0] != "Z":
            pids.append(int(entry))
    return sorted(pids)


class LiveServer:
    """gunicorn serving the project on a free loopback port, as production would (DEBUG off, real settings)."""

    def __init__(
        self,
        *,
        db_url: str,
        log_path: Path,
        workers: int = 2,
        threads: int = 1,
        timeout: int = 30,
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.log_path = log_path
        self.workers = workers
        self.threads = threads
        self.timeout = timeout
        self.extra_env = env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> "LiveServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="salesproject.settings",
            DATABASE_URL=self.db_url,
            DJANGO_SECRET_KEY=f"faults-{random.getrandbits(64):x}",
            DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
            DJANGO_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        command = [
            sys.executable, "-m", "gunicorn", "salesproject.wsgi",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--timeout", str(self.timeout),
            "--graceful-timeout", "5",
            "--log-level", "warning",
        ]  # fmt: skip
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                requests.get(self.url("/api/v1/"), timeout=2)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            self.wait_for_workers()
            return
        raise RuntimeError(f"gunicorn did not answer within {READY_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def wait_for_workers(self, timeout: float = 30.0) -> list[int]:
        """Wait until the master runs its full set of workers (it respawns a killed one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers:
                return pids
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn has {self.worker_pids()} workers, wanted {self.workers}:\n{self.log_tail()}")

    def kill_worker(self, rng: random.Random) -> int:
        """SIGKILL one worker: no cleanup, no graceful shutdown, like the OOM killer."""
        pid = rng.choice(self.worker_pids())
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self._log.close()
        self.process = None

    def log_count(self, text: str) -> int:
        """How many lines of the server's log contain `text` (e.g. how often a transaction was run again)."""
        try:
            return sum(text in line for line in self.log_path.read_text(errors="replace").splitlines())
        except OSError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_for_no_other_sessions(timeout: float = 10.0) -> None:
    """Wait until no session but ours uses the test database (so the flush and the drop at the end are not blocked)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def terminate_other_sessions() -> int:
    """`pg_terminate_backend` every other session on the test database (the app's); how many there were."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


# --- a TCP proxy between the app and PostgreSQL ------------------------------------------------


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; the test can cut it off from the app and reconnect it.

    A restart of the shared PostgreSQL server would break every other test run
    on the machine, so an outage is made here instead, with the same effect on
    the app: its open connections die mid-query (`refuse`, `blackhole`) and new
    ones are refused at once (`refuse`, like a server that is down) or never
    answered (`blackhole`, like a network partition).
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.state = "stopped"
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listener_stop: threading.Event | None = None

    def start(self) -> "TcpProxy":
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(50):  # the same port again after `refuse`, so the app's URL stays valid
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.05)
        listener.listen(128)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        stop = threading.Event()
        self._listener, self._listener_stop, self.state = listener, stop, "up"
        threading.Thread(target=self._accept_loop, args=(listener, stop), daemon=True).start()

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if stop.is_set():  # accepted just as the listener was closed: refused after all
                client.close()
                return
            client.settimeout(None)
            with self._lock:
                self.accepted += 1
                self._sockets.add(client)
                blackhole = self.state == "blackhole"
            if blackhole:  # hold the connection open and never answer
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                self._close(client)
                continue
            with self._lock:
                self._sockets.add(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src)
            self._close(dst)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
        sock.close()

    def cut(self) -> None:
        """Close every open connection both ways: the app's queries die, PostgreSQL rolls their transactions back."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._close(sock)

    def _stop_listening(self) -> None:
        if self._listener is not None:
            self._listener_stop.set()
            self._listener.close()
            self._listener = None

    def refuse(self) -> None:
        """The server is down: open connections die, new ones are refused."""
        self._stop_listening()
        self.state = "refusing"
        self.cut()

    def blackhole(self) -> None:
        """The network is gone: open connections die, new ones are accepted and never answered."""
        with self._lock:
            self.state = "blackhole"
        self.cut()

    def restore(self) -> None:
        """The server is back: forward new connections again."""
        if self._listener is None:
            self._listen()
        else:
            with self._lock:
                self.state = "up"
        self.cut()  # let go of blackholed connections

    def stop(self) -> None:
        self._stop_listening()
        self.state = "stopped"
        self.cut()


# --- the client side -----------------------------------------------------------------------


@dataclass
class Answer:
    """What a client saw: an HTTP status and body, or no answer at all (`failure`: aborted, timeout)."""

    status: int | None
    elapsed: float
    started: float
    body: Any = None
    failure: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def code(self) -> str:
        if isinstance(self.body, dict) and self.body.get("errors"):
            return self.body["errors"][0].get("code", "")
        return ""

    @property
    def label(self) -> str:
        """`201`, `409 insufficient_stock`, `503 service_unavailable`, or `aborted` / `timeout`."""
        if self.status is None:
            return self.failure
        return f"{self.status} {self.code}".strip()


class ApiClient:
    """A thread-safe JSON client with a bearer token; never raises for a failed request, it reports it."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        key: str | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> Answer:
        headers = {"Idempotency-Key": key} if key else {}
        started = time.monotonic()
        try:
            response = self._session().request(
                method, self.base_url + path, json=json_body, headers=headers, timeout=timeout or self.timeout
            )
        except requests.Timeout:
            return Answer(None, time.monotonic() - started, started, failure="timeout")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # Refused, reset, or cut off mid-body (a worker killed while it was sending the answer): no answer.
            self._local.session = None  # a fresh connection next time
            return Answer(None, time.monotonic() - started, started, failure="aborted")
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return Answer(response.status_code, time.monotonic() - started, started, body, headers=dict(response.headers))

    def post(self, path: str, body: Any = None, **kwargs) -> Answer:
        return self.request("POST", path, json_body=body, **kwargs)

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)


class Tally:
    """Answers counted by label, per operation, from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_operation: dict[str, Counter] = {}
        self.answers: list[tuple[str, Answer]] = []

    def add(self, operation: str, answer: Answer) -> Answer:
        with self._lock:
            self.by_operation.setdefault(operation, Counter())[answer.label] += 1
            self.answers.append((operation, answer))
        return answer

    @property
    def total(self) -> Counter:
        total = Counter()
        for counter in self.by_operation.values():
            total.update(counter)
        return total

    @property
    def sent(self) -> int:
        return len(self.answers)

    def server_errors(self) -> list[tuple[str, Answer]]:
        return [(op, a) for op, a in self.answers if a.status is not None and a.status >= 500]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_sent": self.sent,
            "answers": dict(sorted(self.total.items())),
            "by_operation": {op: dict(sorted(c.items())) for op, c in sorted(self.by_operation.items())},
        }


class Clients:
    """`count` threads each running `target(index, stop)` until `stop` is set; `finish` joins them and re-raises."""

    def __init__(self, count: int, target) -> None:
        self.stop_event = threading.Event()
        self.errors: list[BaseException] = []
        self.threads = [threading.Thread(target=self._run, args=(target, i), daemon=True) for i in range(count)]

    def _run(self, target, index: int) -> None:
        try:
            target(index, self.stop_event)
        except BaseException as exc:  # a bug in the test's client code: reported by `finish`
            self.errors.append(exc)

    def start(self) -> "Clients":
        for thread in self.threads:
            thread.start()
        return self

    def finish(self, timeout: float = 90.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = sum(thread.is_alive() for thread in self.threads)
        assert not alive, f"{alive} client threads still running after {timeout:.0f} s: a request hung"
        if self.errors:
            raise self.errors[0]


def save_figures(name: str, figures: dict[str, Any]) -> None:
    """Print the scenario's figures (shown with -s / -rA) and keep them under test-artifacts/faults/."""
    text = json.dumps(figures, indent=2, sort_keys=True, default=str)
    print(f"\n[{name}] {text}")
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.json").write_text(text + "\n")
    except OSError:
        pass
