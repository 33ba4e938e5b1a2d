#!/usr/bin/env python3
"""A tiny round-robin HTTP reverse proxy, for trying two app instances on loopback without nginx.

    python scripts/round_robin_proxy.py --listen 127.0.0.1:8080 127.0.0.1:8001 127.0.0.1:8002

Each request goes to the next backend in turn (the next one again if a backend
refuses the connection). Standard library only; for tests and local trials, not
for production (use nginx: see README, "Running several instances").
"""

import argparse
import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


def make_handler(backends: list[tuple[str, int]]):
    turns = itertools.cycle(range(len(backends)))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            with lock:
                first = next(turns)
            for attempt in range(len(backends)):
                host, port = backends[(first + attempt) % len(backends)]
                connection = http.client.HTTPConnection(host, port, timeout=60)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                except ConnectionRefusedError:
                    connection.close()
                    continue
                payload = response.read()
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                connection.close()
                return
            self.send_error(502, "No backend answered")

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _forward

        def log_message(self, format, *args):  # quiet: the backends keep the access logs
            pass

    return Handler


def address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=address, required=True, help="host:port to listen on")
    parser.add_argument("backends", type=address, nargs="+", help="host:port of each app instance")
    options = parser.parse_args()
    server = ThreadingHTTPServer(options.listen, make_handler(options.backends))
    server.daemon_threads = True
    print(f"proxying {options.listen[0]}:{server.server_address[1]} to {len(options.backends)} backends", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
