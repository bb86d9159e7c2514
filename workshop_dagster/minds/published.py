"""A sealed cycle is history: a run over cycles already sealed leaves them as they were published.

Re-running a sealed cycle used to recompute it and refuse the run when the memo came out other
than sealed. A backfill of earlier cycles then made every later sealed cycle "change" (the record
it would see now holds the earlier calls), so `make demo` after the README's own example failed.
Now the deliberation reads a sealed cycle's rows back (its context, opinions, debate, memo and
calls) and the loop walks its calls into the record and the standing calls the later cycles of
the run see, without asking the minds again; the later cycles keep the record they saw when they
were sealed (`verify` lists a backfill sealed out of time order). What would make a sealed
cycle say something else for a real reason is refused by name instead: another writer (engine,
model, prompts or personas: `MindsEngine.writer`, stored with each memo), or other inputs
(`store/sealed_inputs.py`). A run that amends (`workshop/amend=true`) recomputes and
appends visible amendments, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# The loop's tables a sealed cycle is read back from (minds/loop.LOOP_TABLES).
TABLES = ("mind_context", "mind_opinions", "debate", "memo", "predictions")


@dataclass(frozen=True)
class PublishedCycle:
    cycle_key: str
    rows: dict[str, list[dict]]  # table -> the cycle's rows as stored
    writer: str | None  # who wrote its memo (None: sealed before writers were recorded)


def sealed_in(conn: duckdb.DuckDBPyConnection, schema: str, keys: Sequence[str]) -> list[str]:
    """The cycles among `keys` sealed in the record of `schema`."""
    from ..store import record_seals

    return record_seals.sealed_among(conn, keys, schema)


def load(
    conn: duckdb.DuckDBPyConnection, schema: str, keys: Sequence[str]
) -> dict[pd.Timestamp, PublishedCycle]:
    """The stored rows of the sealed cycles `keys`, by cycle time. A cycle missing from any of
    the tables (a warehouse edited by hand) is left out: it is recomputed, and the seal then
    says whether it still says what was sealed."""
    import pandas as pd

    from ..store import asset_rows
    from ..store.records import records_by

    if not keys:
        return {}
    frames = {}
    for table in TABLES:
        rows = asset_rows.of_cycles(conn, table, keys, schema)
        if rows is None:
            return {}
        frames[table] = records_by(rows, "cycle_key")
    out = {}
    for key in keys:
        rows = {t: frames[t].get(key, []) for t in TABLES}
        if not all(rows.values()):
            continue
        memo = rows["memo"][0]
        writer = memo.get("written_by")
        writer = writer if isinstance(writer, str) and writer else None
        out[pd.Timestamp(memo["cycle_ts"])] = PublishedCycle(key, rows, writer)
    return out


def writer_problem(published: dict, writer: str) -> str | None:
    """Why the run may not leave the sealed cycles as published: the first one written by
    another writer than this run's (engine, models, prompts, personas), named with both."""
    for cycle_ts in sorted(published):
        cycle = published[cycle_ts]
        if cycle.writer is not None and cycle.writer != writer:
            others = sum(
                1 for c in published.values() if c.writer is not None and c.writer != writer
            )
            return (
                f"cycle {cycle.cycle_key} is sealed as written by {cycle.writer!r}, and this run "
                f"writes as {writer!r} (a changed model, prompt or persona; {others} sealed "
                "cycle(s) of the run): a sealed cycle is history, and the record is not "
                "rewritten. To publish new memos for sealed cycles on purpose, run again with "
                "the run tag workshop/amend=true (the demo: --amend); to compare a model or a "
                "prompt on the same cycles, run it as a variant (docs/operations.md)"
            )
    return None
