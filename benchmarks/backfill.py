"""Backfill: a year of cycles of the deterministic per-cycle assets (market bars, rates, news,
features, regime labels, with their checks) in one single run, vs one run per cycle (20 such
runs timed, extrapolated to the year). Both through the CLI, on the offline simulator."""

from __future__ import annotations

from _common import BIN, arguments, report, run, workspace

from tests.e2e.processes import MATERIALIZE_MARKET


def main() -> None:
    args = arguments(__doc__, postgres=True)
    with workspace(args.postgres, WORKSHOP_START="2024-01-02") as (env, _tmp):
        from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP
        from workshop_dagster.lib.partitions import build_cycle_partitions

        keys = build_cycle_partitions(
            "2024-01-02", DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
        )
        year = [k for k in keys.get_partition_keys() if k.startswith("2025")]
        if args.tiny:
            year = year[:6]
        sample = year[:1] if args.tiny else year[:20]
        # The code location as `dagster dev` holds it: the day's partition lists and the NYSE
        # schedule are cached in the data folder by the first process of the day that needs them
        # (docs/performance.md); building the schedule (~0.4 s) is not a year's run's work.
        warm = (
            "import workshop_dagster.lib.per_cycle; "
            "from workshop_dagster.lib.partitions import cycle_partitions, previous_cycle_key; "
            f"previous_cycle_key({year[0]!r}, cycle_partitions())"
        )
        run([str(BIN / "python"), "-c", warm], env)
        one_run = run([*MATERIALIZE_MARKET, "--partition-range", f"{year[0]}...{year[-1]}"], env)
        per_partition = sum(run([*MATERIALIZE_MARKET, "--partition", k], env) for k in sample)
    extrapolated = per_partition / len(sample) * len(year)
    print(
        f"{len(year)} cycles in one run: {one_run:.1f} s   one run per cycle: "
        f"{per_partition / len(sample):.2f} s each, {extrapolated:.0f} s for the year (extrapolated)"
    )
    report(
        "backfill",
        one_run,
        "s",
        extrapolated / one_run,
        "one run per cycle (its time over this one); target >= 50",
    )


if __name__ == "__main__":
    main()
