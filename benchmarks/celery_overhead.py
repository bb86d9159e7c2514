"""A step's cost through Celery (sent to the broker, taken by a worker, its events sent back)
against a step's cost in Dagster's multiprocess executor (a process started for each step), on
the same job: the loop's `cycle` job over two days of the default cadence (32 cycles), in a
fresh workspace each time (a DuckDB file, a SQLite instance). Celery runs through a real Redis
on 127.0.0.1 and one worker started before the clock starts (concurrency 1, as a one-core
host). The in-process executor (the default) is the baseline: a step's overhead is
(wall time - in-process wall time) / steps. Reports Celery's overhead a step and its ratio to
the multiprocess executor's. Needs Debian's redis-server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from _common import BIN, PROJECT, arguments, report, workspace

REPEATS = 3


def main() -> None:
    args = arguments(__doc__)
    from workshop_dagster.commands.local_servers import Redis, free_port

    span = _cycles(2 if args.tiny else 32)
    times: dict[str, list[float]] = {"in_process": [], "multiprocess": [], "celery": []}
    steps = 0
    with tempfile.TemporaryDirectory(prefix="workshop-bench-redis-") as folder:
        redis = Redis(Path(folder), free_port()).start()
        try:
            for _ in range(1 if args.tiny else REPEATS):
                for executor in times:  # in turns: a machine that slows weighs on all three
                    seconds, succeeded = _once(executor, span, redis.url)
                    times[executor].append(seconds)
                    if executor == "in_process":  # a worker's step events reach its own log
                        steps = succeeded
        finally:
            redis.stop()
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    per_step = {k: (median[k] - median["in_process"]) / steps for k in ("multiprocess", "celery")}
    for executor, runs in times.items():
        print(f"{executor}: {', '.join(f'{t:.1f}' for t in runs)} s for {steps} steps")
    print(
        f"overhead a step over in-process: multiprocess {per_step['multiprocess']:.2f} s, "
        f"celery {per_step['celery']:.2f} s"
    )
    report(
        "celery_overhead",
        per_step["celery"],
        f"s a step through Celery (the cycle job over {len(span)} cycles, median of runs)",
        per_step["celery"] / per_step["multiprocess"] if per_step["multiprocess"] > 0 else None,
        "the multiprocess executor's overhead a step",
    )


def _cycles(n: int) -> list[str]:
    from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP
    from workshop_dagster.lib.partitions import build_cycle_partitions

    keys = build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
    )
    return keys.get_partition_keys()[:n]


def _once(executor: str, span: list[str], broker: str) -> tuple[float, int]:
    """The job once over `span` with `executor`, in a fresh workspace: (wall s, steps)."""
    settings = {"WORKSHOP_START": "2025-01-02", "WORKSHOP_EXECUTOR": executor}
    if executor == "celery":
        settings["WORKSHOP_CELERY_BROKER"] = broker
    with workspace(**settings) as (env, tmp):
        env.pop("WORKSHOP_CYCLE_CRON", None)
        env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
        worker = _worker(env, tmp, broker) if executor == "celery" else None
        try:
            tags = json.dumps(
                {
                    "dagster/asset_partition_range_start": span[0],
                    "dagster/asset_partition_range_end": span[-1],
                }
            )
            command = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions"]
            started = time.perf_counter()
            done = subprocess.run(
                [*command, "-j", "cycle", "--tags", tags],
                cwd=PROJECT,
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = time.perf_counter() - started
        finally:
            if worker is not None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(30)
        out = done.stdout + done.stderr
        if done.returncode != 0:
            raise SystemExit(f"the {executor} run failed:\n{out[-3000:]}")
        return seconds, out.count("STEP_SUCCESS")


def _worker(env: dict[str, str], tmp: Path, broker: str) -> subprocess.Popen:
    """One Celery worker of the workspace, ready (its log says so) before the clock starts."""
    from workshop_dagster.lib.executor import celery_yaml

    config = tmp / "celery.yaml"
    config.write_text(yaml.safe_dump(celery_yaml(broker)))
    log = tmp / "worker.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
            + ["-y", str(config), "-n", "bench", "--", "--concurrency", "1"],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 120
    while " ready." not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    return proc


if __name__ == "__main__":
    main()
