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

from ..store import session_bars as table
from .errors import MarketDataError

if TYPE_CHECKING:
    from .daily_view import DailyView

BAR_COLUMNS = ["bar_ts", "open", "high", "low", "close", "volume"]
KEY = ["source", "ticker", "session_date"]

# Each window's bars as its cycle saw them (the store's query, named here for its readers).
WINDOW_BARS = table.WINDOW_BARS


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


def store(conn: duckdb.DuckDBPyConnection, view: DailyView) -> tuple[pd.DataFrame, int]:
    """Store what is new in `view` (the bars a range of cycles sees, `asof.daily_view`) and
    return (each cycle's window, as `market_bars` keeps it; how many session rows were added).
    One transaction: the caller's connection is one use of the warehouse."""
    table.ensure(conn)
    migrate(conn)
    incoming = view.bars.drop_duplicates(KEY + BAR_COLUMNS)[KEY + BAR_COLUMNS]
    clash = incoming[incoming.duplicated(KEY, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        raise MarketDataError(
            f"the source served two different bars for {first['ticker']} on "
            f"{first['session_date']:%Y-%m-%d} in one snapshot"
        )
    spans = incoming.groupby(["source", "ticker"], as_index=False)["session_date"].agg(
        first="min", last="max"
    )
    added = _changed(incoming, table.latest(conn, spans, BAR_COLUMNS))
    revision = table.latest_revision(conn)
    if len(added):
        revision += 1
        _insert(conn, added.assign(revision=revision))
    out = view_windows(view)
    out["revision"] = np.int64(revision)
    return out, len(added)


def _insert(conn: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    table.insert(conn, _typed(rows))


def _typed(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.astype({"bar_ts": "datetime64[ns]", "session_date": "datetime64[ns]"})
    for col in ("open", "high", "low", "close", "volume"):
        rows[col] = rows[col].astype("float64")
    return rows


def migrate(conn: duckdb.DuckDBPyConnection) -> None:
    """Turn a warehouse written before `session_bars` (each cycle's window stored whole in
    `market_bars`) into windows over stored sessions, losing nothing: a session whose bar
    changed between cycles becomes a revision at the first cycle that saw the change. Checked
    before it commits: every window resolves to exactly the bars it held."""
    old = table.whole_windows(conn)
    if old is None:
        return
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
    table.swap_in_windows(conn, _typed(stored), out, expected=len(old))
