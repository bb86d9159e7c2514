"""What every per-cycle asset shares: the settings (read and validated once, when the code
location loads), the cycle partitions, the partition column, the run's cycles (each its key and
time, `market/cycles.Cycle`), and how a failure no retry can cure is reported."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg

from ..config.settings import active
from ..market import calendar
from ..market.cycles import Cycle, key_to_time, keys_by_time, of_keys
from ..market.errors import MarketDataError
from .partitions import cycle_key_problem, cycle_partitions, previous_cycle_key, time_to_key

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
# A run that has not ended: what the scoring and rollups sensors wait on before asking again.
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def run_cycles(context: dg.AssetExecutionContext) -> list[Cycle]:
    """The cycles of this run (one partition, or a whole range in a single-run backfill), each
    its key and its time, made once from the partition keys and carried through the run.

    A cycle whose time has not come is refused: Dagster offers the partition after an excluded
    tick (a market holiday) before its time, and a cycle run early would see the market of now
    under a later minute's name (or, on the simulator, a market that has not happened)."""
    refuse_keys_off_the_cadence(context)
    cycles = of_keys(context.partition_keys)
    now = calendar.now_ny()
    early = [c for c in cycles if c.time > now]
    if early:
        raise dg.Failure(
            description=f"cycle {min(early).key} has not happened yet (now "
            f"{now:%Y-%m-%d %H:%M} New York): a cycle runs at or after its time, so that it sees "
            "only what was knowable then. Run it then, or choose cycles up to now.",
            allow_retries=False,
        )
    return cycles


AMEND_TAG = "workshop/amend"


def amending(context: dg.AssetExecutionContext) -> bool:
    """Whether the run asks to rewrite sealed cycles on purpose (run tag workshop/amend=true)."""
    return context.run.tags.get(AMEND_TAG, "").strip().lower() == "true"


def refuse_changes_to_sealed(context: dg.AssetExecutionContext, conn, rows: dict) -> None:
    """Before a step replaces its cycles' rows: refuse (a `dg.Failure`, raised inside the
    caller's transaction, so nothing it wrote stays) if any of `rows` (table -> new rows, a
    frame or a SQL relation) would change what a sealed cycle's memo was written from, unless
    the run amends (store/sealed_inputs.py)."""
    from ..store.record_seals import sealed_anywhere
    from ..store.sealed_inputs import changed_sealed_cycles

    if amending(context):
        return
    sealed = sealed_anywhere(conn, list(context.partition_keys))
    for table, new_rows in rows.items():
        changed = changed_sealed_cycles(conn, table, new_rows, sealed)
        if changed is not None:
            raise dg.Failure(description=changed.message(), allow_retries=False)


# The tags that name a run's cycles (a range run's bounds may be any time: Dagster runs the
# cycles between them).
PARTITION_TAGS = (
    "dagster/partition",
    "dagster/asset_partition_range_start",
    "dagster/asset_partition_range_end",
)


def refuse_keys_off_the_cadence(context: dg.AssetExecutionContext) -> None:
    """A run asked for a key that is not a cycle (a minute off the cadence, a market holiday,
    before WORKSHOP_START) is refused by name, with the nearest cycles, before it runs any."""
    asked = [context.run.tags[t] for t in PARTITION_TAGS if context.run.tags.get(t)]
    if not asked and context.has_partition_key:
        asked = [context.partition_key]
    for key in asked:
        problem = cycle_key_problem(key, PARTITIONS)
        if problem:
            raise dg.Failure(description=problem, allow_retries=False)


def previous_cycle_time(cycle: pd.Timestamp) -> pd.Timestamp | None:
    """The cycle before `cycle` in the partition set (None before the first)."""
    key = previous_cycle_key(time_to_key(cycle), PARTITIONS)
    return key_to_time(key) if key else None


def previous_cycle_times(cycles: list[Cycle]) -> list[pd.Timestamp | None]:
    """Each of the run's cycles' previous cycle time (None before the first cycle): within a
    range, the cycle before it in the run, looked up only where the run's cycles are not
    adjacent."""
    out: list[pd.Timestamp | None] = []
    for i, cycle in enumerate(cycles):
        before = previous_cycle_key(cycle.key, PARTITIONS)
        if i and before == cycles[i - 1].key:
            out.append(cycles[i - 1].time)
        else:
            out.append(key_to_time(before) if before else None)
    return out


def with_cycle_key(frame: pd.DataFrame, cycles: list[Cycle]) -> pd.DataFrame:
    """The frame with its partition key (`cycle_key`) first: the key of the run's cycle at each
    row's `cycle_ts`, as the run was given it (never formatted again from the time). A row at
    no cycle of the run is a bug upstream, refused here before anything is written."""
    import pandas as pd

    keys = keys_by_time(cycles)
    out = frame.copy()
    mapped = out["cycle_ts"].map(keys)
    if mapped.isna().any():
        stray = out.loc[mapped.isna(), "cycle_ts"].iloc[0]
        raise ValueError(f"a row at {stray} is at no cycle of this run ({len(cycles)} cycles)")
    out.insert(0, "cycle_key", pd.Series(mapped.to_numpy(dtype=object), index=out.index))
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
