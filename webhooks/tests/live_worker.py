"""`manage.py db_worker` as a subprocess against pytest-django's (PostgreSQL) test database."""

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from salesproject.tests.live import database_url


class WorkerProcess:
    def __init__(
        self, log_path: Path, *, interval: float = 0.1, env: dict[str, str] | None = None, plain: bool = False
    ) -> None:
        self.log_path = log_path
        self.interval = interval
        self.plain = plain  # `manage.py db_worker` with no option at all, as events.md and an operator run it
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_", "WEBHOOK_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="salesproject.settings",
            DATABASE_URL=database_url(),
            DJANGO_SECRET_KEY=f"worker-{random.getrandbits(64):x}",
            DJANGO_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
            **self.extra_env,
        )
        command = [sys.executable, "manage.py", "db_worker"]
        if not self.plain:
            command += ["--queue-name", "webhooks", "--interval", str(self.interval)]
            command += ["--no-startup-delay", "--no-reload"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, the task it runs is left RUNNING and its delivery claimed."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # busy in an attempt: the second signal ends it
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
