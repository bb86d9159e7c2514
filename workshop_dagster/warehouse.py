"""The DuckDB warehouse file: one writer at a time, every write all-or-nothing.

DuckDB lets one process open a database file read-write; a second process gets "Could not set
lock on file". Every connection Workshop opens goes through `connect`, which takes an exclusive
cross-process file lock first (so concurrent runs queue instead of failing) and wraps the work in
a transaction (so a failed or killed write leaves no partial partition behind).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

if TYPE_CHECKING:  # imported on first connect, not when the code location loads
    import duckdb

LOCK_TIMEOUT_S = 600.0
_locks: dict[str, FileLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> FileLock:
    key = str(path.resolve())
    with _locks_guard:
        if key not in _locks:
            _locks[key] = FileLock(key + ".lock", timeout=LOCK_TIMEOUT_S)
        return _locks[key]


@contextmanager
def connect(
    database: str | Path, *, transaction: bool = True, timeout: float = LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An exclusive connection to the warehouse; commits on success, rolls back on error."""
    import duckdb

    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock_for(path).acquire(timeout=timeout):
        conn = duckdb.connect(str(path), config={"custom_user_agent": "workshop"})
        try:
            if transaction:
                conn.execute("BEGIN TRANSACTION")
            yield conn
            if transaction:
                conn.execute("COMMIT")
        except BaseException:
            if transaction:
                with suppress(duckdb.Error):
                    conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


def table_exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> bool:
    row = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


class MixedSourcesError(RuntimeError):
    """A run would write cycles of one market source into a warehouse holding another's."""


SOURCE_TABLE = "warehouse_source"


def claim_source(database: str | Path, market: str, name: str) -> None:
    """Bind the warehouse to one market source, or refuse a run from another.

    Simulated, replayed and live cycles must never share a record, rules, calibration or site:
    the first run that writes cycles stamps the warehouse with its source (`market`, e.g.
    "sim (seed 7)" or "csv:/abs/path"), and a run from any other source stops before writing.
    A warehouse that holds no cycle yet takes the new stamp; one written before stamps existed
    takes it when its bars all came from a source of this `name` (sim, csv, yfinance)."""
    with connect(database) as conn:
        conn.execute(
            f"create table if not exists {SOURCE_TABLE} (market varchar not null, "
            "stamped_at timestamp not null)"
        )
        row = conn.execute(f"select market from {SOURCE_TABLE}").fetchone()
        if row and row[0] == market:
            return
        holds_cycles = table_exists(conn, "market_bars") and bool(
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


def add_new_columns(conn, table: str, columns: dict[str, str]) -> list[str]:
    """Add to `table` the `columns` (name -> SQL type) it does not have yet, empty for the rows
    already there: a release that adds a field to a per-cycle table writes its next cycle into
    the warehouse an earlier release made. Returns the names added."""
    schema, _, name = table.rpartition(".")
    have = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema or "main", name],
        ).fetchall()
    }
    added = [c for c in columns if c not in have]
    for col in added:
        conn.execute(f'alter table {table} add column "{col}" {columns[col]}')
    return added
