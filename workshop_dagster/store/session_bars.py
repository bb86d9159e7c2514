"""The `session_bars` table (each session's daily bar, stored once, in revisions) and the query
that puts a cycle's window of `market_bars` back into bars (`market/session_bars.py` says why
bars are stored this way and what a revision is)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from .warehouse import create_table, registered, table_exists

DDL = """
create table if not exists session_bars (
    source varchar not null,
    ticker varchar not null,
    session_date timestamp_ns not null,
    revision bigint not null,
    present boolean not null,
    bar_ts timestamp_ns,
    open double,
    high double,
    low double,
    close double,
    volume double,
    primary key (source, ticker, session_date, revision)
)
"""

# Each window's bars as its cycle saw them: per session in the window, the latest revision at or
# before the window's, if that revision is a bar and not a removal. `{windows}` is a relation of
# market_bars rows.
WINDOW_BARS = """
with revisions as (
    select
        windows.cycle_key,
        windows.cycle_ts,
        windows.ticker,
        windows.source,
        session_bars.session_date,
        session_bars.present,
        session_bars.bar_ts,
        session_bars.open,
        session_bars.high,
        session_bars.low,
        session_bars.close,
        session_bars.volume,
        row_number() over (
            partition by windows.cycle_ts, windows.ticker, session_bars.session_date
            order by session_bars.revision desc
        ) as newest
    from {windows} as windows
    inner join session_bars
        on session_bars.source = windows.source
        and session_bars.ticker = windows.ticker
        and session_bars.session_date between windows.first_session and windows.last_session
        and session_bars.revision <= windows.revision
)
select
    cycle_key, cycle_ts, ticker, session_date, bar_ts, open, high, low, close, volume, source
from revisions
where newest = 1 and present
"""


def ensure(conn: duckdb.DuckDBPyConnection) -> None:
    create_table(conn, DDL)


def window_bars(conn: duckdb.DuckDBPyConnection, windows: str = "market_bars") -> pd.DataFrame:
    """Every window's bars, `windows` a relation of market_bars rows (the table, or a frame
    registered under that name)."""
    return conn.execute(WINDOW_BARS.format(windows=windows)).fetchdf()


def latest(
    conn: duckdb.DuckDBPyConnection, spans: pd.DataFrame, bar_columns: Sequence[str]
) -> pd.DataFrame:
    """The newest stored revision of each session within `spans` (source, ticker, first, last)."""
    with registered(conn, "incoming_spans", spans):
        return conn.execute(
            "select s.source, s.ticker, s.session_date, s.present, "
            + ", ".join(f"s.{c}" for c in bar_columns)
            + " from session_bars s join incoming_spans i "
            "on s.source = i.source and s.ticker = i.ticker "
            "and s.session_date between i.first and i.last "
            "qualify row_number() over (partition by s.source, s.ticker, s.session_date "
            "order by s.revision desc) = 1"
        ).fetchdf()


def latest_revision(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("select coalesce(max(revision), 0) from session_bars").fetchall()[0][0]


def insert(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    with registered(conn, "new_session_bars", rows):
        conn.execute("insert into session_bars by name select * from new_session_bars").fetchall()


def whole_windows(conn: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """`market_bars` as it was written before `session_bars` (each window's bars whole), or
    None where it is not (no table, or windows over sessions already)."""
    if not table_exists(conn, "market_bars"):
        return None
    if "open" not in conn.execute("select * from market_bars limit 0").fetchdf().columns:
        return None
    return conn.execute("select * from market_bars").fetchdf()


def swap_in_windows(
    conn: duckdb.DuckDBPyConnection, stored: pd.DataFrame, windows: pd.DataFrame, expected: int
) -> None:
    """Replace whole windows by `windows` over the sessions `stored`, checked before the
    caller's transaction commits: every old bar resolves the same, or nothing changes."""
    ensure(conn)
    conn.execute("alter table market_bars rename to market_bars_before_session_bars").fetchall()
    insert(conn, stored)
    with registered(conn, "migrated_windows", windows):
        conn.execute("create table market_bars as select * from migrated_windows").fetchall()
    resolved = conn.execute(
        f"select count(*) from ({WINDOW_BARS.format(windows='market_bars')}) r "
        "join market_bars_before_session_bars o using (cycle_ts, ticker, session_date) "
        "where r.close is not distinct from o.close and r.bar_ts = o.bar_ts"
    ).fetchall()[0][0]
    if resolved != expected:
        raise RuntimeError(
            f"moving market_bars to session_bars would change what cycles saw ({resolved} of "
            f"{expected} bars resolved the same); the warehouse is left as it was"
        )
    conn.execute("drop table market_bars_before_session_bars").fetchall()
