"""What every per-cycle asset shares: the settings (read and validated once, when the code
location loads), the cycle partitions, the partition column, the run's cycle times, and how a
failure no retry can cure is reported."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg

from .market import calendar
from .market.errors import MarketDataError
from .partitions import (
    cycle_partitions,
    key_to_time,
    keys_to_times,
    previous_cycle_key,
    time_to_key,
)
from .settings import active

if TYPE_CHECKING:  # imported by the runs that use it, not by the code location's load
    import pandas as pd

# Every setting is validated first (settings.SettingsError names the variable): a wrong one stops
# the code location from loading, so `make validate` reports it and no run can write a row.
SETTINGS = active()
# Every run reads the NYSE schedule from the project's cache instead of building it (set before
# the partitions, which build the schedule when their own cache is missing: the process that
# builds it then keeps it for the others).
calendar.cache_in(SETTINGS.data_dir / "cache")
PARTITIONS = cycle_partitions(SETTINGS)
# Every per-cycle table is partitioned on `cycle_ts` (naive New York time).
CYCLE_TABLE = {"partition_expr": "cycle_ts"}
# What every per-cycle asset declares: the cycle partitions, and a range of cycles run as one
# run (a backfill walks its cycles in time order in one step, docs/architecture.md).
PER_CYCLE = {"partitions_def": PARTITIONS, "backfill_policy": dg.BackfillPolicy.single_run()}


def cycle_times(context: dg.AssetExecutionContext) -> list[pd.Timestamp]:
    """The cycle times of this run: one partition, or a whole range in a single-run backfill.

    A cycle whose time has not come is refused: Dagster offers the partition after an excluded
    tick (a market holiday) before its time, and a cycle run early would see the market of now
    under a later minute's name (or, on the simulator, a market that has not happened)."""
    times = keys_to_times(context.partition_keys)
    now = calendar.now_ny()
    early = [t for t in times if t > now]
    if early:
        raise dg.Failure(
            description=f"cycle {time_to_key(min(early))} has not happened yet (now "
            f"{now:%Y-%m-%d %H:%M} New York): a cycle runs at or after its time, so that it sees "
            "only what was knowable then. Run it then, or choose cycles up to now.",
            allow_retries=False,
        )
    return times


def previous_cycle_time(cycle: pd.Timestamp) -> pd.Timestamp | None:
    """The cycle before `cycle` in the partition set (None before the first)."""
    key = previous_cycle_key(time_to_key(cycle), PARTITIONS)
    return key_to_time(key) if key else None


def previous_cycle_times(context: dg.AssetExecutionContext) -> list[pd.Timestamp | None]:
    """Each run cycle's previous cycle time (None before the first cycle): within a range,
    the cycle before it in the run, looked up only where the run's cycles are not adjacent."""
    times = cycle_times(context)
    out: list[pd.Timestamp | None] = []
    keys = context.partition_keys
    for i, key in enumerate(keys):
        before = previous_cycle_key(key, PARTITIONS)
        if i and before == keys[i - 1]:
            out.append(times[i - 1])
        else:
            out.append(key_to_time(before) if before else None)
    return out


def with_cycle_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its partition key (`cycle_key`) first, formatted once per cycle."""
    import numpy as np
    import pandas as pd

    out = frame.copy()
    codes, cycles = pd.factorize(out["cycle_ts"], use_na_sentinel=False)
    keys = np.array([time_to_key(t) for t in cycles], dtype=object)[codes]
    out.insert(0, "cycle_key", pd.Series(keys, index=out.index, dtype=object))
    return out


@contextmanager
def permanent_errors_fail_fast():
    """A market error a retry cannot cure (a bad row, a missing file, a source that ends too
    early) fails the step at once, with the bad bars, if any, in its metadata."""
    try:
        yield
    except MarketDataError as exc:
        if exc.transient:
            raise
        problems = getattr(exc, "problems", None)
        metadata = (
            {"bad_bars": dg.MetadataValue.json([p.as_row() for p in problems[:200]])}
            if problems
            else {}
        )
        raise dg.Failure(description=str(exc), metadata=metadata, allow_retries=False) from exc
