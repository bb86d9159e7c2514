"""Loop backfill: a year of offline cycles end to end (market, minds, memos, predictions, checks,
scores, posts, then the rollups and the site), in time order, in one run of the `cycle` job, as
`make demo` does it, on the project's SQLite instance. Reports cycles per second and the peak
memory of the process."""

from __future__ import annotations

import resource
import sys

from _common import arguments, report, run, workspace


def main() -> None:
    args = arguments(__doc__, postgres=True)
    with workspace(args.postgres) as (env, _tmp):
        from workshop_dagster.partitions import build_cycle_partitions
        from workshop_dagster.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP, DEFAULT_START

        keys = build_cycle_partitions(
            DEFAULT_START, DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
        )
        year = [k for k in keys.get_partition_keys() if k.startswith("2025")]
        if args.tiny:
            year = year[:6]
        seconds = run(
            [sys.executable, "-m", "workshop_dagster.demo", "--cycles", str(len(year))]
            + ["--end", year[-1]],
            env,
        )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{len(year)} cycles ({year[0]} .. {year[-1]}): {seconds:.0f} s, "
        f"{len(year) / seconds:.1f} cycles/s, peak memory {peak_mb:.0f} MB"
    )
    report(
        "loop_backfill",
        seconds,
        f"s for {len(year)} cycles",
        None,
        f"{len(year) / seconds:.1f} cycles/s, peak {peak_mb:.0f} MB; target a year < 120 s",
    )


if __name__ == "__main__":
    main()
