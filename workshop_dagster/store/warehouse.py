"""The warehouse's one door: the DuckDB file (one writer at a time) or a shared DuckLake
(`store/lake.py`: many writers, the catalog in PostgreSQL); every write all-or-nothing.

DuckDB lets one process open a database file read-write; a second process gets "Could not set
lock on file". Every connection Workshop opens goes through `connect`, which takes an exclusive
cross-process file lock first (so concurrent runs queue instead of failing) and wraps the work in
a transaction (so a failed or killed write leaves no partial partition behind). During a run
the lock and the connection are kept between uses for a moment (`_Gate`). A lake needs no
file lock: its catalog commits writers of different rows side by side and refuses the second
writer of the same rows (`WriteConflict`).

(Over 350 lines: the one door and what every use of it shares: the gate that keeps a run's
connection, transactions and their conflicts, read-only access, the errors a user sees.)
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from . import lake

if TYPE_CHECKING:  # imported on first connect, not when the code location loads
    import duckdb

LOCK_TIMEOUT_S = 600.0
# How long a run keeps the file between two of its connections (see `_Gate`).
LINGER_S = 0.25


class _Gate:
    """One warehouse file as this process uses it: the cross-process file lock, a thread lock
    (one user at a time in the process), and, while a run lingers, the open connection.

    Opening a DuckDB database costs ~15 ms however small the file (its catalog is built each
    time), and a cycle run connects ~60 times (each input read and output written by the IO
    manager, each SQL model): ~1 s a cycle. During a run (`lingering`), the file lock and the
    connection are kept for LINGER_S after a use, so the run's next connection, milliseconds
    later, reuses them; other processes wait at most LINGER_S longer for the file. Every use is
    still its own transaction, committed when its block ends; a failed use closes at once.
    """

    def __init__(self, location: str) -> None:
        # A lake is written by many processes at once: no file lock, the catalog arbitrates.
        self.location = location
        self.lake = lake.is_lake(location)
        self.path = Path(location)
        self.users = threading.RLock()
        self.file = (
            _NoLock()
            if self.lake
            else FileLock(location + ".lock", timeout=LOCK_TIMEOUT_S, thread_local=False)
        )
        self.conn = None
        self.depth = 0
        self.timer: threading.Timer | None = None

    def open(self, timeout: float):
        if self.conn is None and self.lake:
            import duckdb

            conn = duckdb.connect(config={"custom_user_agent": "workshop"})
            try:
                lake.attach(conn, self.location)
            except BaseException:
                conn.close()
                raise
            self.conn = conn
        if self.conn is None:
            import duckdb

            self.file.acquire(timeout=timeout)
            try:
                self.conn = duckdb.connect(str(self.path), config={"custom_user_agent": "workshop"})
            except duckdb.IOException as exc:
                self.file.release()
                if written_by_another_version(exc):
                    raise WarehouseUnreadable(self.path, exc) from None
                raise
            except BaseException:
                self.file.release()
                raise
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return self.conn

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.close()
            finally:
                self.file.release()

    def linger(self) -> None:
        timer = threading.Timer(LINGER_S, self._close_if_idle)
        timer.daemon = True
        self.timer = timer
        timer.start()

    def _close_if_idle(self) -> None:
        if not self.users.acquire(blocking=False):
            return  # in use: its user lingers again or closes when done
        try:
            if self.depth == 0:
                self.close()
        finally:
            self.users.release()


class _NoLock:
    def acquire(self, timeout: float | None = None) -> None:
        return None

    def release(self) -> None:
        return None


_gates: dict[str, _Gate] = {}
_gates_guard = threading.Lock()
_lingering = threading.Event()
# The connections a thread holds in `one_transaction`, by resolved file path.
_held = threading.local()


def _held_conns() -> dict:
    if not hasattr(_held, "conns"):
        _held.conns = {}
    return _held.conns


def _key(database: str | Path) -> str:
    """What identifies a warehouse in this process: a lake's catalog (with or without its data
    path spelled out: the catalog keeps it), a file's resolved path. Two spellings of one
    warehouse share its gate, so a `one_transaction` holds every write to it."""
    if lake.is_lake(database):
        return lake.PREFIX + lake.parse(str(database))[0]
    return str(Path(database).resolve())


def _gate_for(database: str | Path) -> _Gate:
    key = _key(database)
    with _gates_guard:
        if key not in _gates:
            _gates[key] = _Gate(str(database) if lake.is_lake(database) else key)
        return _gates[key]


def start_lingering() -> None:
    """Keep the file between the connections of this process (a run, from its IO manager)."""
    _lingering.set()


def stop_lingering() -> None:
    """Close every kept connection and give the files back (the run's end)."""
    _lingering.clear()
    with _gates_guard:
        gates = list(_gates.values())
    for gate in gates:
        with gate.users:
            if gate.depth == 0:
                gate.close()


def _forget_in_child() -> None:
    # A forked child must neither use nor release its parent's connection and file lock.
    global _gates_guard, _held
    _gates.clear()
    _gates_guard = threading.Lock()
    _lingering.clear()
    _held = threading.local()


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(stop_lingering)


@contextmanager
def connect(
    database: str | Path, *, transaction: bool = True, timeout: float = LOCK_TIMEOUT_S
) -> Iterator[duckdb.DuckDBPyConnection]:
    """An exclusive connection to the warehouse; commits on success, rolls back on error."""
    import duckdb

    held = _held_conns().get(_key(database))
    if held is not None:  # inside `one_transaction`: its connection, committed when it ends
        yield held
        return
    if not lake.is_lake(database):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    gate = _gate_for(database)
    if not gate.users.acquire(timeout=timeout):
        raise Timeout(str(database) + ".lock")
    ok = False
    try:
        # A use inside another use of the same thread gets its own connection (a cursor).
        nested = gate.depth > 0
        gate.depth += 1
        conn = gate.open(timeout)
        if nested:
            conn = conn.cursor()
            if lake.is_lake(database):
                # A cursor starts in DuckDB's default catalog, not the lake the gate opened:
                # without this `main.memo` named an empty in-memory schema (seen: verify
                # inside a reader of the same lake).
                conn.execute(f"USE {lake.ALIAS}")
        try:
            if transaction:
                conn.execute("BEGIN TRANSACTION")
            yield conn
            if transaction:
                _commit(conn, database)
            ok = True
        except BaseException:
            if transaction:
                with suppress(duckdb.Error):
                    conn.execute("ROLLBACK")
            raise
        finally:
            if nested:
                conn.close()
    finally:
        gate.depth -= 1
        if gate.depth == 0:
            if ok and _lingering.is_set():
                gate.linger()
            else:
                gate.close()
        gate.users.release()


@contextmanager
def one_transaction(database: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Every `connect` of this thread to `database` inside the block uses one connection and one
    transaction, committed when the block ends and rolled back if it fails (or the process dies
    first): a step whose outputs must land together or not at all (a cycle's seal, memo and
    calls: the deliberation) writes them through it, the IO manager's writes included."""
    key = _key(database)
    if key in _held_conns():
        raise RuntimeError(f"{database}: one_transaction is already open in this thread")
    with connect(database) as conn:
        _held_conns()[key] = conn
        try:
            yield conn
        finally:
            del _held_conns()[key]


@contextmanager
def read_only(database: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that only reads, for a reader that may not write the folder (`verify` on a
    read-only copy): it waits for the writers' file lock where it can take it; where the
    folder is read-only, no writer can be using the file. In a process that has the file open
    already (a run lingering on it), that connection."""
    import duckdb

    if lake.is_lake(database):  # the catalog keeps readers apart from the writers
        with connect(database, transaction=False) as conn:
            yield conn
        return
    path = Path(database)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}")
    key = str(path.resolve())
    if key in _held_conns() or (key in _gates and _gates[key].conn is not None):
        with connect(path, transaction=False) as conn:
            yield conn
        return
    lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT_S, thread_local=False)
    try:
        lock.acquire()
    except OSError:  # a read-only folder: no lock file can be made, and no writer is at work
        lock = None
    try:
        try:
            conn = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise WarehouseUnreadable(path, exc) from None
        try:
            yield conn
        finally:
            conn.close()
    finally:
        if lock is not None:
            lock.release()


def exists(database: str | Path) -> bool:
    """Whether there is a warehouse to read: a lake always is (its catalog says what it holds),
    a file when it is there."""
    return lake.is_lake(database) or Path(database).exists()


class WriteConflict(RuntimeError):
    """Another writer of a shared lake committed the same rows first: nothing of this
    transaction was written, and running it again reads what that writer wrote."""


def _commit(conn, database) -> None:
    try:
        conn.execute("COMMIT")
    except Exception as exc:
        if lake.is_conflict(exc):
            raise WriteConflict(
                f"another writer of the lake committed the same rows first, so nothing of this "
                f"write was kept; run it again ({str(exc).splitlines()[-1].strip()})"
            ) from exc
        raise


def is_lake_connection(conn) -> bool:
    """Whether `conn` writes a lake (whose tables take no primary key: `lake.portable_ddl`)."""
    return conn.execute("select current_database()").fetchone()[0] == lake.ALIAS


def create_table(conn, ddl: str) -> None:
    """Run a `create table if not exists` as the connection's backend takes it."""
    conn.execute(lake.portable_ddl(ddl, is_lake_connection(conn)))


class WarehouseUnreadable(RuntimeError):
    """The warehouse file cannot be opened (another DuckDB version, a damaged file, a path that
    is not a DuckDB file)."""

    def __init__(self, path: Path, exc: Exception):
        if written_by_another_version(exc):
            import duckdb

            said = str(exc).strip().splitlines()[0].removeprefix("IO Error: ")
            super().__init__(
                f"{path} was written by another DuckDB version than this one (duckdb "
                f"{duckdb.__version__}; {said}): open it with the DuckDB that wrote it, or move "
                "it across with that DuckDB's EXPORT DATABASE and this one's IMPORT DATABASE "
                "(docs/operations.md, 'A warehouse from another DuckDB version')"
            )
        else:
            super().__init__(f"{path}: cannot be read as a DuckDB warehouse: {exc}")


def written_by_another_version(exc: Exception) -> bool:
    """Whether DuckDB refused a file for its storage version (a newer or an older DuckDB's)."""
    return "Trying to read a database file with version number" in str(exc)


def table_exists(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "main") -> bool:
    # fetchall: the result finished, so the connection can run the next statement (duckdb 2).
    rows = conn.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(rows and rows[0][0])


def column_names(conn, table: str, schema: str = "main") -> set[str]:
    """The columns `schema.table` has (none where it does not exist)."""
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def add_new_columns(conn, table: str, columns: dict[str, str]) -> list[str]:
    """Add to `table` the `columns` (name -> SQL type) it does not have yet, empty for the rows
    already there: a release that adds a field to a per-cycle table writes its next cycle into
    the warehouse an earlier release made. Returns the names added."""
    schema, _, name = table.rpartition(".")
    have = column_names(conn, name, schema or "main")
    added = [c for c in columns if c not in have]
    for col in added:
        conn.execute(f'alter table {table} add column "{col}" {columns[col]}')
    return added


@contextmanager
def registered(conn, name: str, frame) -> Iterator[None]:
    """`frame` visible to the connection's SQL as `name` for the block, and gone after it (a
    name left registered would shadow a later frame of the same name)."""
    conn.register(name, frame)
    try:
        yield
    finally:
        conn.unregister(name)


def insert_missing(conn, table: str, frame, key: str) -> int:
    """Append the rows of `frame` whose `key` the table does not hold yet, by column name (an
    append-only table: a lake has no primary key to upsert on); returns how many were added."""
    with registered(conn, "incoming_rows", frame):
        (before,) = conn.execute(f"select count(*) from {table}").fetchone()
        conn.execute(
            f"insert into {table} by name select * from incoming_rows n "
            f"where not exists (select 1 from {table} t where t.{key} = n.{key})"
        ).fetchall()
        (after,) = conn.execute(f"select count(*) from {table}").fetchone()
    return int(after - before)
