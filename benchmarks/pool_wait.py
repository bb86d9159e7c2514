"""Pool wait: four CLI runs of the market group started at once on one warehouse, whose steps
queue on pool `duckdb` (limit 1), vs the same four runs one after another: CPU seconds of all
the runs' processes. A step blocked on a pool must wait, not spin (run_guard's patch of
Dagster's claim loop); before it, each waiting run burned a core (13-15 CPU-s a run against
4.8 alone)."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

from _common import BIN, PROJECT, arguments, report, workspace

CYCLES = ["2026-03-02-19:15", "2026-03-03-19:15", "2026-03-04-19:15", "2026-03-05-19:15"]
MATERIALIZE = [str(BIN / "dagster"), "asset", "materialize", "-m", "workshop_dagster.definitions"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _runs(keys: list[str], env: dict[str, str], at_once: bool) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one market run per key."""
    cpu, started = _children_cpu(), time.perf_counter()
    procs = []
    for key in keys:
        args = [*MATERIALIZE, "--select", "group:market", "--partition", key]
        proc = subprocess.Popen(
            args, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if not at_once:
            procs.append((proc, proc.communicate()[0]))
        else:
            procs.append((proc, None))
    for proc, out in procs:
        out = out if out is not None else proc.communicate()[0]
        if proc.returncode != 0:
            sys.exit(f"a run failed:\n{out[-3000:]}")
    return _children_cpu() - cpu, time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__)
    keys = CYCLES[:1] if args.tiny else CYCLES  # tiny: proves the script runs
    with workspace() as (env, _tmp):
        sequential_cpu, sequential_wall = _runs(keys, env, at_once=False)
    with workspace() as (env, _tmp):
        concurrent_cpu, concurrent_wall = _runs(keys, env, at_once=True)
    n = len(keys)
    print(f"{n} runs one after another: {sequential_cpu:.1f} CPU-s, {sequential_wall:.1f} s wall")
    print(
        f"{n} runs at once on pool duckdb: {concurrent_cpu:.1f} CPU-s, {concurrent_wall:.1f} s wall"
    )
    report(
        "pool_wait",
        concurrent_cpu,
        "CPU-s",
        concurrent_cpu / sequential_cpu,
        f"the same {n} runs one after another; target <= 1.15",
    )


if __name__ == "__main__":
    main()
