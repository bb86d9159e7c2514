"""Loop backfill: a year of offline cycles end to end (market, minds, memos, predictions, checks,
scores, posts, then the rollups and the site), in time order, in one run of the `cycle` job, as
`make demo` does it, on the project's SQLite instance. Reports cycles per second and the peak
memory of the process."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from _common import arguments, report, run, workspace


def main() -> None:
    args = arguments(__doc__, postgres=True, lake=True)
    with workspace(args.postgres, lake=args.lake) as (env, tmp):
        from workshop_dagster.config.settings import (
            DEFAULT_CYCLE_CRON,
            DEFAULT_CYCLE_SKIP,
            DEFAULT_START,
        )
        from workshop_dagster.lib.partitions import build_cycle_partitions

        keys = build_cycle_partitions(
            DEFAULT_START, DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
        )
        year = [k for k in keys.get_partition_keys() if k.startswith("2025")]
        if args.tiny:
            year = year[:6]
        seconds = run(
            [sys.executable, "-m", "workshop_dagster.commands.demo", "--cycles", str(len(year))]
            + ["--end", year[-1]],
            env,
        )
        warehouse_mb = (
            _size_mb(tmp / "lake", "**/*")
            if args.lake
            else _size_mb(Path(env["WORKSHOP_DB"]).parent, "*.duckdb*")
        )
        instance_mb = _size_mb(Path(env["DAGSTER_HOME"]), "**/*")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{len(year)} cycles ({year[0]} .. {year[-1]}): {seconds:.0f} s, "
        f"{len(year) / seconds:.1f} cycles/s, peak memory {peak_mb:.0f} MB, "
        f"warehouse {warehouse_mb:.0f} MB, Dagster instance {instance_mb:.0f} MB"
    )
    report(
        "loop_backfill_lake" if args.lake else "loop_backfill",
        seconds,
        f"s for {len(year)} cycles",
        None,
        f"{len(year) / seconds:.1f} cycles/s, peak {peak_mb:.0f} MB, warehouse "
        f"{warehouse_mb:.0f} MB, instance {instance_mb:.0f} MB; targets for a year of the "
        "default cadence: <= 120 s, <= 1 GB, <= 150 MB, <= 150 MB",
    )


def _size_mb(folder: Path, pattern: str) -> float:
    return sum(f.stat().st_size for f in folder.glob(pattern) if f.is_file()) / 1e6


if __name__ == "__main__":
    main()
