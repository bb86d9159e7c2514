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

import duckdb
from filelock import FileLock

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
