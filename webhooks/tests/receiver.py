"""A real HTTP receiver on 127.0.0.1 in the test process: records every POST, answers as the test says."""

import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    at: float  # time.time() when the request was read
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Answer:
    status: int = 200
    delay: float = 0.0  # seconds to wait before answering (a slow or hanging receiver)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


class Receiver:
    """`answers`: what to answer, in order (then `default`). Counts overlapping requests per webhook-id."""

    def __init__(self, *answers: Answer, default: Answer | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.answers = list(answers)
        self.default = default or Answer()
        self.received: list[Received] = []
        self.max_overlap: Counter = Counter()
        self._in_flight: Counter = Counter()
        self._lock = threading.Lock()
        self.stop_event = threading.Event()  # set to release hanging requests
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                item = Received(time.time(), self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    receiver.received.append(item)
                    answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                    receiver._in_flight[item.webhook_id] += 1
                    receiver.max_overlap[item.webhook_id] = max(
                        receiver.max_overlap[item.webhook_id], receiver._in_flight[item.webhook_id]
                    )
                try:
                    if answer.delay:
                        receiver.stop_event.wait(answer.delay)
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the sender gave up (its timeout)
                finally:
                    with receiver._lock:
                        receiver._in_flight[item.webhook_id] -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        if tls is not None:  # https://localhost:…, with the test's certificate
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://localhost:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self._lock:
            return [item.webhook_id for item in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"the receiver got {len(self.received)} requests in {timeout} s, wanted {count}")
