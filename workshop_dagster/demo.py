"""`make demo`: run the main job offline for the latest cycles and print what it produced.

Runs are recorded in the project's Dagster instance (DAGSTER_HOME, `.dagster_home` under `make`),
so `make ui` shows them afterwards.
"""

from __future__ import annotations

import argparse
import sys

import dagster as dg
import pandas as pd

from . import warehouse
from .settings import load_settings

DEFAULT_CYCLES = 9


def run(cycles: int = DEFAULT_CYCLES, end_key: str | None = None) -> str:
    """Materialize the `cycle` job over the latest `cycles` partitions in one run; print tables."""
    from .definitions import PARTITIONS, defs

    keys = PARTITIONS.get_partition_keys()
    if end_key:
        keys = keys[: keys.index(end_key) + 1]
    chosen = keys[-cycles:]
    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def("cycle")
    result = job.execute_in_process(
        instance=instance,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        tags={
            "dagster/asset_partition_range_start": chosen[0],
            "dagster/asset_partition_range_end": chosen[-1],
        },
    )
    if not result.success:
        raise SystemExit("the cycle job failed: see the run in `make ui`")
    settings = load_settings()
    with warehouse.connect(settings.database, transaction=False) as conn:
        labels = conn.execute(
            "select cycle_key, label, score, drivers from regime_labels "
            "where cycle_key between ? and ? order by cycle_ts",
            [chosen[0], chosen[-1]],
        ).fetchdf()
        features = conn.execute(
            "select ticker, round(last, 2) as last, change_1d_pct, change_5d_pct, rel_strength_5d "
            "from cycle_features where cycle_key = ? order by ticker",
            [chosen[-1]],
        ).fetchdf()
        wide = conn.execute(
            "select any_value(breadth) breadth, any_value(size_spread_1d) size_spread_1d, "
            "any_value(mega_cap_1d) mega_cap_1d, any_value(vix_level) vix, "
            "any_value(spread_10y_2y) spread_10y_2y, any_value(fed_funds) fed_funds "
            "from cycle_features where cycle_key = ?",
            [chosen[-1]],
        ).fetchdf()
    with pd.option_context("display.width", 160, "display.max_colwidth", 90):
        print(f"\nWorkshop: market source {settings.market!r}, database {settings.database}")
        print(f"\nRegime labels, cycles {chosen[0]} .. {chosen[-1]}:")
        print(labels.to_string(index=False))
        print(f"\nFeatures at cycle {chosen[-1]}:")
        print(features.to_string(index=False))
        print(wide.to_string(index=False))
    return chosen[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=DEFAULT_CYCLES)
    parser.add_argument("--end", help="last cycle key, e.g. 2026-03-30-19:15 (default: latest)")
    args = parser.parse_args(argv)
    run(args.cycles, args.end)
    return 0


if __name__ == "__main__":
    sys.exit(main())
