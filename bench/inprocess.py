"""In-process measurements through Django's test client, with the same settings as the server.

    .venv/bin/python bench/inprocess.py < spec.json > result.json

Spec (JSON on stdin, written by bench/run.py):
    {"token": "...", "repeat": 3, "profile_dir": null | "bench/profile", "profile_repeat": 50,
     "requests": [{"name": "create", "method": "POST", "path": "/api/v1/sales/", "body": {...},
                   "headers": {"Idempotency-Key": "..."}, "bodies": [...]}, ...]}

For each request it reports the number of SQL queries (every database alias counted, so a
read replica's queries are included), the smallest and largest over `repeat` runs, and the
status codes. POSTs that create need a fresh body each time: `bodies` gives one per run
(the key is made unique per run). With `profile_dir`, it also writes a pyinstrument text
profile of `profile_repeat` runs of each request to <profile_dir>/<name>.txt.

Counting queries in-process is exact and needs nothing from the app; the requests go
through the same middleware, authentication, views and serializers as under gunicorn.
"""

import json
import os
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesproject.settings")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def _call(client: Client, spec: dict, run: int):
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (spec.get("headers") or {}).items()}
    if "HTTP_IDEMPOTENCY_KEY" in headers:
        headers["HTTP_IDEMPOTENCY_KEY"] = f"{headers['HTTP_IDEMPOTENCY_KEY']}-{run}-{uuid.uuid4().hex[:8]}"
    bodies = spec.get("bodies")
    body = bodies[run % len(bodies)] if bodies else spec.get("body")
    path = spec["path"]
    paths = spec.get("paths")
    if paths:
        path = paths[run % len(paths)]
    if spec["method"] == "GET":
        return client.get(path, **headers)
    return client.generic(
        spec["method"], path, json.dumps(body) if body is not None else "", content_type="application/json", **headers
    )


def count_queries(client: Client, spec: dict, repeat: int) -> dict:
    counts, statuses = [], []
    for run in range(repeat):
        with ExitStack() as stack:
            captures = [stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections]
            response = _call(client, spec, run)
        counts.append(sum(len(capture.captured_queries) for capture in captures))
        statuses.append(response.status_code)
    return {"min": min(counts), "max": max(counts), "counts": counts, "statuses": statuses}


def profile(client: Client, spec: dict, repeat: int, directory: Path, offset: int) -> str:
    from pyinstrument import Profiler

    _call(client, spec, offset)  # warm: first-request imports and caches are not the hot path
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for run in range(1, repeat + 1):
        _call(client, spec, offset + run)
    profiler.stop()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{spec['name']}.txt"
    header = f"# {spec['method']} {spec['path']} × {repeat} (pyinstrument, in-process test client)\n"
    path.write_text(header + profiler.output_text(unicode=False, color=False, show_all=False))
    return str(path)


def main() -> int:
    spec = json.load(sys.stdin)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {spec['token']}", raise_request_exception=False)
    repeat = int(spec.get("repeat", 3))
    result = {}
    for request in spec["requests"]:
        result[request["name"]] = count_queries(client, request, repeat)
    if spec.get("profile_dir"):
        directory = Path(spec["profile_dir"])
        for request in spec["requests"]:
            if request.get("profile", True):
                count = int(request.get("profile_repeat", spec.get("profile_repeat", 50)))
                result[request["name"]]["profile"] = profile(client, request, count, directory, repeat)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
