"""gunicorn settings for Prometheus multiprocess mode: `gunicorn -c python:ops.gunicorn salesproject.wsgi`.

With `PROMETHEUS_MULTIPROC_DIR` set (an empty directory, wiped before gunicorn starts), every worker writes its
counters there and `/metrics` adds them up; a worker that exits is marked dead so its live gauges drop out.
Command-line options still apply on top of this file.
"""

import os

from prometheus_client import multiprocess


def child_exit(server, worker) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
