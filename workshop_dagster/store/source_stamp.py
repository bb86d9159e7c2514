"""Which market source a warehouse holds: simulated, replayed and live cycles never share one
record, so the first run that writes cycles stamps the warehouse with its source, and a run from
another stops before writing (`claim_source`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import warehouse

if TYPE_CHECKING:
    import duckdb


class MixedSourcesError(RuntimeError):
    """A run would write cycles of one market source into a warehouse holding another's."""


SOURCE_TABLE = "warehouse_source"


def claim_source(database: str | Path, market: str, name: str) -> None:
    """Bind the warehouse to one market source, or refuse a run from another.

    Simulated, replayed and live cycles must never share a record, rules, calibration or site:
    the first run that writes cycles stamps the warehouse with its source (`market`, e.g.
    "sim (seed 7)" or "csv:/abs/path"), and a run from any other source stops before writing.
    A warehouse that holds no cycle yet takes the new stamp; one written before stamps existed
    takes it when its bars all came from a source of this `name` (sim, csv, yfinance).
    Runs starting at once on a shared lake stamp it once: the second is refused at commit and
    reads the first's stamp."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return _claim_source(database, market, name)
        except warehouse.WriteConflict:
            if attempt == CONFLICT_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


CONFLICT_ATTEMPTS = 5


def _claim_source(database: str | Path, market: str, name: str) -> None:
    with warehouse.connect(database) as conn:
        conn.execute(
            f"create table if not exists {SOURCE_TABLE} (market varchar not null, "
            "stamped_at timestamp not null)"
        )
        row = conn.execute(f"select market from {SOURCE_TABLE}").fetchone()
        if row and row[0] == market:
            return
        holds_cycles = warehouse.table_exists(conn, "market_bars") and bool(
            conn.execute("select count(*) from market_bars").fetchone()[0]
        )
        if holds_cycles:
            held = row[0] if row else _legacy_source(conn, name, market)
            if held != market:
                raise MixedSourcesError(
                    f"the warehouse {database} holds cycles of market {held!r}; a run of "
                    f"{market!r} would mix the two in one record, rules, calibration and site. "
                    "Give this market its own folder (WORKSHOP_DATA_DIR, or WORKSHOP_DB), or "
                    "remove the warehouse to start over"
                )
        conn.execute(f"delete from {SOURCE_TABLE}")
        conn.execute(f"insert into {SOURCE_TABLE} values (?, current_localtimestamp())", [market])


def _legacy_source(conn: duckdb.DuckDBPyConnection, name: str, market: str) -> str:
    """What a warehouse written before the stamp holds, from its bars' source names: `market`
    itself when they are all `name` (the best that can be known), else what they are."""
    names = [
        n for (n,) in conn.execute("select distinct source from market_bars order by 1").fetchall()
    ]
    if names == [name]:
        return market
    return " and ".join(names) + " (written before sources were stamped)"
