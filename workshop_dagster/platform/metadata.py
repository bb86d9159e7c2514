"""What the UI shows of a table an asset wrote: a preview with its long cells cut.

A preview goes into every materialization event of the output, and a single-run backfill
records one event per cycle: full memos, posts and contexts in it made each event ~200 KB, and
a year of cycles wrote ~1 GB of event log. Cut cells keep a preview readable and an event small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    import pandas as pd

PREVIEW_ROWS = 5
CELL_CHARS = 40


def _cut(value):
    if isinstance(value, str) and len(value) > CELL_CHARS:
        return value[: CELL_CHARS - 1] + "…"
    return value


def preview(frame: pd.DataFrame, rows: int = PREVIEW_ROWS) -> dg.MetadataValue:
    """The first rows as a Markdown table, each text cell cut to CELL_CHARS characters."""
    import pandas as pd

    head = frame.head(rows)
    text_columns = [
        c for c, dtype in head.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)
    ]
    cut = head.assign(**{str(c): head[c].map(_cut) for c in text_columns})
    return dg.MetadataValue.md(cut.to_markdown(index=False))


def last_cycle_only(
    add_asset_metadata, partition_keys: list[str], last_key: str | None, asset_key, heavy: dict
) -> dict:
    """`heavy` metadata (previews, memos, SQL) as the output's own for a run of one cycle; for a
    range run, attached to the materialization of its last cycle (`last_key`, the end of the
    run's partition range: the keys themselves come in no set order) only, through the
    context's `add_asset_metadata`, and nothing of it returned.

    A range run records one materialization per cycle, and Dagster copies an output's metadata
    into each: a year of the intraday cadence wrote 1.5 GB of event log, each cycle's event
    carrying the preview and the memo of the whole range."""
    if len(partition_keys) <= 1:
        return dict(heavy)
    add_asset_metadata(dict(heavy), asset_key=asset_key, partition_key=last_key)
    return {}


def for_run(context, asset_key, metadata: dict) -> dict:
    """What an asset says about its run (counts, sources, cost): the output's own metadata for a
    run of one cycle; for a range run, on the materialization of its last cycle only
    (`last_cycle_only`). Copied into every cycle's event, a range's counts would read as each
    cycle's own, and a year of the cadence stored them ~3,750 times each."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return dict(metadata)
    return last_cycle_only(
        context.add_asset_metadata,
        list(context.partition_keys),
        context.partition_key_range.end,
        asset_key,
        metadata,
    )


def table_metadata(
    add_asset_metadata,
    partition_keys: list[str],
    last_key: str | None,
    asset_key,
    rows: int,
    heavy: dict,
) -> dict:
    """The metadata of a table an asset wrote: its row count and the `heavy` part; for a range
    run, the rows and cycles of the whole run (which no single cycle's count would be) with the
    heavy part on the last cycle only (`last_cycle_only`)."""
    if len(partition_keys) > 1:
        whole = {"rows_in_run": rows, "cycles_in_run": len(partition_keys)}
        return last_cycle_only(
            add_asset_metadata, partition_keys, last_key, asset_key, whole | heavy
        )
    light = {"dagster/partition_row_count" if partition_keys else "dagster/row_count": rows}
    return light | heavy
