"""`session_bars`: each session's daily bar stored once; `market_bars` names each cycle's window.

A cycle looks at the last 30 sessions of every ticker, and 16 cycles a day share almost all of
them: storing each cycle's window whole kept every bar ~480 times. So the bars a source
published are stored once per session in `session_bars`, and a cycle's `market_bars` row per
ticker names its window: the first and last session, how many sessions, and the `revision` of
`session_bars` it saw.

Revisions keep what each cycle saw auditable when a source changes its history (Yahoo adjusts
past prices after each dividend; a csv folder is corrected): a write that finds a session's bar
changed, or gone, adds a new revision of it and never rewrites the old one. Every write takes
the next revision number (writes are serialized by the warehouse lock), and a window resolves
each of its sessions to the latest revision at or before its own (`WINDOW_BARS`), which is
what the cycle's source served. A run that fails after its bars are stored leaves revisions no
window names, which are harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from ..store import warehouse
from ..store.warehouse import create_table
from .errors import MarketDataError

if TYPE_CHECKING:
    from .daily_view import DailyView

BAR_COLUMNS = ["bar_ts", "open", "high", "low", "close", "volume"]
KEY = ["source", "ticker", "session_date"]

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


def view_windows(view: DailyView) -> pd.DataFrame:
    """Each cycle's window per ticker (`asof.daily_view`): cycle_ts, ticker, source,
    first_session, last_session, last_bar_ts, sessions."""
    w, bars = view.windows, view.bars
    first, last = w["start"].to_numpy(), w["stop"].to_numpy() - 1
    return pd.DataFrame(
        {
            "cycle_ts": w["cycle_ts"].to_numpy(),
            "ticker": w["ticker"].to_numpy(),
            "source": bars["source"].to_numpy()[last],
            "first_session": bars["session_date"].to_numpy()[first],
            "last_session": bars["session_date"].to_numpy()[last],
            "last_bar_ts": bars["bar_ts"].to_numpy()[last],
            "sessions": (last - first + 1).astype("int64"),
        }
    )


def windows(bars: pd.DataFrame) -> pd.DataFrame:
    """Each cycle's window per ticker from bars repeated per cycle (`market_bars` as it was
    kept before `session_bars`): cycle_ts, ticker, source, first_session, last_session,
    last_bar_ts, sessions."""
    grouped = bars.groupby(["cycle_ts", "ticker", "source"], sort=True)
    out = grouped.agg(
        first_session=("session_date", "min"),
        last_session=("session_date", "max"),
        last_bar_ts=("bar_ts", "max"),
        sessions=("session_date", "size"),
    ).reset_index()
    out["sessions"] = out["sessions"].astype("int64")
    return out


def _same_bars(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """Row by row, whether two frames of `BAR_COLUMNS` (in that order) hold the same bar; a
    missing value equals a missing value."""
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    same = (left == right) | (pd.isna(left) & pd.isna(right))
    return same.all(axis=1)


def _changed(incoming: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The rows to add as a new revision: sessions not stored, stored with other values, or
    stored but missing from `incoming` inside the span it covers per ticker (removals)."""
    stored = stored.rename(columns={"present": "present_stored"})
    merged = incoming.merge(stored, on=KEY, how="outer", suffixes=("", "_stored"), indicator=True)
    new = merged["_merge"] == "left_only"
    both = merged["_merge"] == "both"
    differs = ~_same_bars(merged[BAR_COLUMNS], merged[[f"{c}_stored" for c in BAR_COLUMNS]])
    was_removed = both & ~merged["present_stored"].astype("boolean").fillna(True).astype(bool)
    changed = new | (both & (pd.Series(differs, index=merged.index) | was_removed))
    span = incoming.groupby(["source", "ticker"])["session_date"].agg(["min", "max"])
    gone = merged[merged["_merge"] == "right_only"].join(span, on=["source", "ticker"])
    gone = gone[
        gone["present_stored"].astype(bool)
        & (gone["session_date"] >= gone["min"])
        & (gone["session_date"] <= gone["max"])
    ]
    added = merged.loc[changed, KEY + BAR_COLUMNS].assign(present=True)
    if gone.empty:
        return added.reset_index(drop=True)
    removed = gone[KEY].assign(present=False)
    for col in BAR_COLUMNS:
        removed[col] = added[col].iloc[0:0].reindex(removed.index)
    return pd.concat([added, removed[added.columns]], ignore_index=True)


def _latest(conn: duckdb.DuckDBPyConnection, incoming: pd.DataFrame) -> pd.DataFrame:
    """The newest stored revision of each session in the span `incoming` covers."""
    conn.register(
        "incoming_spans",
        incoming.groupby(["source", "ticker"], as_index=False)["session_date"].agg(
            first="min", last="max"
        ),
    )
    try:
        return conn.execute(
            "select s.source, s.ticker, s.session_date, s.present, "
            + ", ".join(f"s.{c}" for c in BAR_COLUMNS)
            + " from session_bars s join incoming_spans i "
            "on s.source = i.source and s.ticker = i.ticker "
            "and s.session_date between i.first and i.last "
            "qualify row_number() over (partition by s.source, s.ticker, s.session_date "
            "order by s.revision desc) = 1"
        ).fetchdf()
    finally:
        conn.unregister("incoming_spans")


def store(conn: duckdb.DuckDBPyConnection, view: DailyView) -> tuple[pd.DataFrame, int]:
    """Store what is new in `view` (the bars a range of cycles sees, `asof.daily_view`) and
    return (each cycle's window, as `market_bars` keeps it; how many session rows were added).
    One transaction: the caller's connection is one use of the warehouse."""
    create_table(conn, DDL)
    migrate(conn)
    incoming = view.bars.drop_duplicates(KEY + BAR_COLUMNS)[KEY + BAR_COLUMNS]
    clash = incoming[incoming.duplicated(KEY, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        raise MarketDataError(
            f"the source served two different bars for {first['ticker']} on "
            f"{first['session_date']:%Y-%m-%d} in one snapshot"
        )
    added = _changed(incoming, _latest(conn, incoming))
    revision = conn.execute("select coalesce(max(revision), 0) from session_bars").fetchall()[0][0]
    if len(added):
        revision += 1
        _insert(conn, added.assign(revision=revision))
    out = view_windows(view)
    out["revision"] = np.int64(revision)
    return out, len(added)


def _insert(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    rows = rows.astype({"bar_ts": "datetime64[ns]", "session_date": "datetime64[ns]"})
    for col in ("open", "high", "low", "close", "volume"):
        rows[col] = rows[col].astype("float64")
    conn.register("new_session_bars", rows)
    try:
        conn.execute("insert into session_bars by name select * from new_session_bars").fetchall()
    finally:
        conn.unregister("new_session_bars")


def migrate(conn: duckdb.DuckDBPyConnection) -> None:
    """Turn a warehouse written before `session_bars` (each cycle's window stored whole in
    `market_bars`) into windows over stored sessions, losing nothing: a session whose bar
    changed between cycles becomes a revision at the first cycle that saw the change. Checked
    before it commits: every window resolves to exactly the bars it held."""
    if not warehouse.table_exists(conn, "market_bars"):
        return
    if "open" not in conn.execute("select * from market_bars limit 0").fetchdf().columns:
        return
    old = conn.execute("select * from market_bars").fetchdf()
    old = old.sort_values(["source", "ticker", "session_date", "cycle_ts"])
    # A revision number per cycle (its rank in time); a session's bar is stored again at the
    # first cycle where it differs from what the previous cycle saw.
    rank = old["cycle_ts"].rank(method="dense").astype("int64")
    same_session = (old[KEY] == old[KEY].shift()).all(axis=1)
    same_bar = _same_bars(old[BAR_COLUMNS], old[BAR_COLUMNS].shift())
    first_seen = ~(same_session.to_numpy() & same_bar)
    stored = old.loc[first_seen, KEY + BAR_COLUMNS].assign(
        present=True, revision=rank[first_seen].to_numpy()
    )
    out = windows(old)
    out["revision"] = out["cycle_ts"].map(dict(zip(old["cycle_ts"], rank, strict=False)))
    out = out.merge(old[["cycle_ts", "cycle_key"]].drop_duplicates("cycle_ts"), on="cycle_ts")
    create_table(conn, DDL)
    conn.execute("alter table market_bars rename to market_bars_before_session_bars").fetchall()
    _insert(conn, stored)
    conn.register("migrated_windows", out)
    try:
        conn.execute("create table market_bars as select * from migrated_windows").fetchall()
    finally:
        conn.unregister("migrated_windows")
    resolved = conn.execute(
        f"select count(*) from ({WINDOW_BARS.format(windows='market_bars')}) r "
        "join market_bars_before_session_bars o using (cycle_ts, ticker, session_date) "
        "where r.close is not distinct from o.close and r.bar_ts = o.bar_ts"
    ).fetchall()[0][0]
    if resolved != len(old):
        raise RuntimeError(
            f"moving market_bars to session_bars would change what cycles saw ({resolved} of "
            f"{len(old)} bars resolved the same); the warehouse is left as it was"
        )
    conn.execute("drop table market_bars_before_session_bars").fetchall()
