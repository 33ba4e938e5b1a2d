"""Webhook delivery latency (commit to receiver, p50/p99) and one worker's throughput, per `db_worker --interval`.

Runs webhooks/tests/test_live.py's latency test once per interval against PostgreSQL and prints the figures
it keeps under test-artifacts/faults/. Usage:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_webhooks .venv/bin/python bench/webhooks_delivery.py 0.1 0.5 1
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "webhooks/tests/test_live.py::test_a_signed_event_reaches_the_receiver_within_a_second_of_its_commit"


def main(intervals: list[str]) -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the worker runs as a separate process).")
    rows = []
    for interval in intervals:
        env = {**os.environ, "WEBHOOK_BENCH_INTERVAL": interval}
        artifact = ROOT / "test-artifacts" / "faults" / f"webhooks_latency_interval_{float(interval):g}.json"
        artifact.unlink(missing_ok=True)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--reuse-db", TEST]
        subprocess.run(command, cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
        if not artifact.exists():
            sys.exit(f"the run with --interval {interval} failed: run {TEST} with -s to see why")
        rows.append(json.loads(artifact.read_text()))
    print(f"{'interval s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'deliveries/s':>13}")
    for row in rows:
        latency = row["latency_commit_to_receiver_ms"]
        print(
            f"{row['worker_interval_s']:>10g} {latency['p50']:>8} {latency['p99']:>8} {latency['max']:>8} "
            f"{row['throughput_one_worker_per_s']:>13}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["0.1", "0.5", "1"]))
