"""Variant backfill: a second variant over cycles the loop has run costs no market or feature
work. First the loop's backfill over a span of the default cadence (market, features, regime,
minds, memos, calls, checks, scores) in one run; then the `placebo` side variant's (its minds,
calls, checks and scores over the shared market, the `placebo_cycle` job) and `no_feedback`'s
over the same span, each in one run. Both through the CLI, offline on the simulator. Reports
each time and the second's over the first (target <= 0.7). `placebo` is the fair second: it
computes a record as the loop does (and a placebo one); `no_feedback` computes none."""

from __future__ import annotations

import json

from _common import BIN, arguments, report, run, workspace

LOOP = "group:market or group:minds or group:predictions"


# A quarter in three fresh workspaces, the median ratio reported (this VM's runs vary by a
# fifth); `--year`: the year of the default cadence, once.
REPEATS = 3


def main() -> None:
    args = arguments(__doc__, year=True)
    span = "year" if args.year else "tiny" if args.tiny else "quarter"
    results = [_once(span) for _ in range(1 if span != "quarter" else REPEATS)]
    for n, first, seconds in results:
        print(
            f"{n} cycles: the loop {first:.1f} s; then over the same cycles placebo "
            f"{seconds['placebo']:.1f} s ({seconds['placebo'] / first:.2f}x), no_feedback "
            f"{seconds['no_feedback']:.1f} s ({seconds['no_feedback'] / first:.2f}x)"
        )
    n, first, seconds = sorted(results, key=lambda r: r[2]["placebo"] / r[1])[len(results) // 2]
    report(
        "variant_backfill",
        seconds["placebo"],
        f"s for {n} cycles (median of {len(results)})",
        seconds["placebo"] / first,
        "the first backfill, market included; target <= 0.7",
    )


def _once(size: str) -> tuple[int, float, dict[str, float]]:
    """The loop's backfill, then each variant's, in a fresh workspace: (cycles, seconds of the
    loop's, seconds of each variant's)."""
    with workspace(WORKSHOP_START="2025-01-02") as (env, _tmp):
        from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP
        from workshop_dagster.lib.partitions import build_cycle_partitions

        keys = build_cycle_partitions(
            "2025-01-02", DEFAULT_CYCLE_CRON, "America/New_York", None, DEFAULT_CYCLE_SKIP
        )
        end = "2026" if size == "year" else "2025-04"
        span = [k for k in keys.get_partition_keys() if "2025-01" <= k < end]
        if size == "tiny":
            span = span[:6]
        dagster = str(BIN / "dagster")
        module = ["-m", "workshop_dagster.definitions"]
        first = run(
            [dagster, "asset", "materialize", *module, "--select", LOOP]
            + ["--partition-range", f"{span[0]}...{span[-1]}"],
            env,
        )
        tags = json.dumps(
            {
                "dagster/asset_partition_range_start": span[0],
                "dagster/asset_partition_range_end": span[-1],
            }
        )
        seconds = {
            v: run([dagster, "job", "execute", *module, "-j", f"{v}_cycle", "--tags", tags], env)
            for v in ("placebo", "no_feedback")
        }
    return len(span), first, seconds


if __name__ == "__main__":
    main()
