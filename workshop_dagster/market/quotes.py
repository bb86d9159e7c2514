"""Each cycle's quote of each ticker: the market of the cycle's minute, from intraday bars.

The as-of rule for intraday bars: a bar is visible from its end (stamped 10:50 at 5 minutes, it
is known at 10:55). From the bars visible at a cycle:

- `last`: the close of the last bar, whatever the hour (pre-market, session, after hours).
- The *session* is the latest regular session (09:30 to its close, 16:00 or 13:00 on early-close
  days) whose first bar had ended by the cycle; before the open that is the previous session.
- `session_move_pct`: the session's last regular price against the previous session's regular
  close, both from the intraday series; `since_open_pct` and `range_position` (0 at the
  session's low so far, 1 at its high) from the same bars.
- `extended_move_pct`: `last` against the session's last regular price, when the last trade is
  after it: after hours on the session's evening, pre-market (with the night) before the next
  open; `extended_session` says which.
- `since_prev_cycle_pct`: `last` against the previous cycle's `last`, in the same series.
- `change_5d_pct`: five sessions to the cycle's minute, chain-linked so that no return crosses
  the two series: the daily series from five sessions back to the previous close, then the
  intraday series from that close to now (the intraday bars are not dividend-adjusted and the
  daily ones are; a return from one to the other is off by up to 3%).

A ticker without intraday bars for the cycle's session (none in the source, or the source's
intraday history ends earlier) is quoted at its last daily close: `quote_source` says
`daily close`, and `stale` is true when the source serves intraday bars for other tickers, so
the minds and the memo know the price is not of the minute. A quote from a bar that ended long
before the cycle is stale too (a gap in the data): more than STALE_IN_SESSION before a cycle
inside the regular session, STALE_OUTSIDE before one outside it (trading is thin then, and a
minute with no trade has no bar). Nothing is mixed between series.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import calendar

if TYPE_CHECKING:
    from .daily_view import DailyView

QUOTE_COLUMNS = [
    "cycle_ts",
    "ticker",
    "quote_source",
    "quote_ts",
    "last",
    "session_date",
    "prev_close",
    "session_move_pct",
    "since_open_pct",
    "range_position",
    "extended_move_pct",
    "extended_session",
    "since_prev_cycle_pct",
    "change_5d_pct",
    "stale",
]


# How old the last bar may be for its price to count as the minute's (see above).
STALE_IN_SESSION = pd.Timedelta(minutes=15)
STALE_OUTSIDE = pd.Timedelta(minutes=60)


def _too_old(cycles: pd.DatetimeIndex, quote_ts: pd.Series) -> np.ndarray:
    """Whether each quote of the minute ended too long before its cycle (STALE_*)."""
    days = cycles.normalize()
    open_day = np.asarray(days.isin(calendar.xnys().sessions))
    close = np.full(len(cycles), np.datetime64("NaT"), dtype="datetime64[ns]")
    if open_day.any():
        close[open_day] = calendar.session_closes(days[open_day]).to_numpy()
    now = cycles.to_numpy()
    opened = (days + calendar.SESSION_OPEN + pd.Timedelta(minutes=5)).to_numpy()
    in_session = open_day & (now >= opened) & (now <= close)
    limit = np.where(in_session, STALE_IN_SESSION.to_timedelta64(), STALE_OUTSIDE.to_timedelta64())
    ts = pd.to_datetime(quote_ts).to_numpy(dtype="datetime64[ns]")
    return ~np.isnat(ts) & ((now - ts) > limit)


def _pct(a, b) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(100 * (np.asarray(a, float) / np.asarray(b, float) - 1), 4)


def _regular(bars: pd.DataFrame) -> pd.DataFrame:
    """The bars of the regular session (every ticker), with per-ticker-and-session running
    high, low and first open."""
    days = bars["bar_start"].dt.normalize()
    unique = pd.DatetimeIndex(days.unique())
    sessions = unique[unique.isin(calendar.xnys().sessions)]
    close_of = pd.Series(calendar.session_closes(sessions), index=sessions)
    closes = days.map(close_of)
    regular = (
        closes.notna()
        & (bars["bar_start"] >= days + calendar.SESSION_OPEN)
        & (bars["bar_start"] < closes)
    )
    out = bars[regular].assign(session_date=days[regular])
    by = out.groupby(["ticker", "session_date"], sort=False)
    return out.assign(
        run_high=by["high"].cummax(),
        run_low=by["low"].cummin(),
        first_open=by["open"].transform("first"),
    )


def _ticker_quotes(
    bars: pd.DataFrame,
    reg: pd.DataFrame,
    daily: pd.Series,
    cycles: pd.DatetimeIndex,
    prev: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Intraday quotes of one ticker at each cycle (NaN where it has none): `bars` its bars,
    `reg` their regular-session part (`_regular`), `daily` its daily closes by session date."""
    n = len(cycles)
    at_cycle = cycles.to_numpy("datetime64[ns]")
    ends = bars["bar_end"].to_numpy("datetime64[ns]")
    closes_all = bars["close"].to_numpy(float)
    at = np.searchsorted(ends, at_cycle, side="right") - 1
    r_end = reg["bar_end"].to_numpy("datetime64[ns]")
    r_at = np.searchsorted(r_end, at_cycle, side="right") - 1
    ok = (at >= 0) & (r_at >= 0) & (len(reg) > 0)
    a, r = np.where(ok, at, 0), np.where(ok, r_at, 0)
    nat = np.datetime64("NaT")
    if len(reg):
        r_close = reg["close"].to_numpy(float)
        r_session = reg["session_date"].to_numpy("datetime64[ns]")
        session = np.where(ok, r_session[r], nat)
        session_last = r_close[r]
        first_open = reg["first_open"].to_numpy(float)[r]
        run_high, run_low = reg["run_high"].to_numpy(float)[r], reg["run_low"].to_numpy(float)[r]
        # Each session's regular close (its last regular bar).
        last_of = np.r_[r_session[1:] != r_session[:-1], True]
        closes = dict(zip(r_session[last_of].astype(np.int64), r_close[last_of], strict=True))
    else:
        session = np.full(n, nat, dtype="datetime64[ns]")
        session_last = first_open = run_high = run_low = np.full(n, np.nan)
        closes = {}
    all_sessions = calendar.xnys().sessions
    pos = all_sessions.searchsorted(np.where(ok, session, all_sessions[1].to_datetime64()))
    previous = all_sessions[np.maximum(pos - 1, 0)]
    prev_close = np.array([closes.get(int(d), np.nan) for d in previous.asi8])
    last = closes_all[a]
    after_regular = ends[a] > r_end[r] if len(reg) else np.zeros(n, bool)
    span = run_high - run_low
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(span > 0, (session_last - run_low) / span, 0.5)
    extended = ok & after_regular
    same_day = bars["bar_start"].to_numpy("datetime64[ns]")[a].astype("datetime64[D]") == (
        session.astype("datetime64[D]")
    )
    # The previous cycle's last, same series.
    p_at = np.searchsorted(ends, prev.to_numpy("datetime64[ns]"), side="right") - 1
    p_last = np.where(p_at >= 0, closes_all[np.maximum(p_at, 0)], np.nan)
    # Five sessions: daily from P-4 to P (P: the session before this one), then intraday.
    p4 = all_sessions[np.maximum(pos - 5, 0)]
    daily_leg = daily.reindex(previous).to_numpy() / daily.reindex(p4).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        chained = 100 * (daily_leg * (session_last / prev_close) - 1)
    return pd.DataFrame(
        {
            "last": np.where(ok, last, np.nan),
            "quote_ts": np.where(ok, ends[a], nat).astype("datetime64[ns]"),
            "session_date": session.astype("datetime64[ns]"),
            "prev_close": np.where(ok, prev_close, np.nan),
            "session_move_pct": np.where(ok, _pct(session_last, prev_close), np.nan),
            "since_open_pct": np.where(ok, _pct(session_last, first_open), np.nan),
            "range_position": np.where(ok, np.round(position, 4), np.nan),
            "extended_move_pct": np.where(extended, _pct(last, session_last), np.nan),
            "extended_session": np.where(
                extended, np.where(same_day, "after-hours", "pre-market"), None
            ),
            "since_prev_cycle_pct": np.where(ok & ~pd.isna(prev), _pct(last, p_last), np.nan),
            "change_5d_pct": np.where(ok, np.round(chained, 4), np.nan),
            "quote_source": np.where(ok, bars["resolution"].to_numpy()[a], None),
        }
    )


def _no_quotes(n: int) -> pd.DataFrame:
    text = {"quote_source", "extended_session"}
    times = {"quote_ts", "session_date"}
    return pd.DataFrame(
        {
            c: pd.Series([None] * n, dtype=object)
            if c in text
            else pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
            if c in times
            else np.full(n, np.nan)
            for c in QUOTE_COLUMNS[2:-1]
        }
    )


def market_quotes(
    intraday: pd.DataFrame,
    daily: DailyView,
    cycles: Sequence,
    previous: Sequence,
    tickers: Sequence[str],
) -> pd.DataFrame:
    """One quote per cycle and ticker (columns `QUOTE_COLUMNS`).

    intraday: ticker, bar_start, bar_end, open, high, low, close, volume, resolution
    daily:    the daily bars the cycles see (`asof.daily_view`), for the fallback and the daily
              leg of the five-session change
    previous: each cycle's previous cycle time (NaT for the first)
    """
    cycles = pd.DatetimeIndex([calendar.to_naive_ny(c) for c in cycles])
    prev = pd.DatetimeIndex([pd.NaT if pd.isna(p) else calendar.to_naive_ny(p) for p in previous])
    has_intraday = len(intraday) > 0
    visible = daily.last_bars().set_index(["cycle_ts", "ticker"])
    by_session = daily.bars.set_index(["ticker", "session_date"])["close"]
    # The session a quote of the minute belongs to: the latest whose first bar has ended.
    all_sessions = calendar.xnys().sessions
    expected = all_sessions[
        all_sessions.searchsorted(
            (cycles - calendar.SESSION_OPEN - pd.Timedelta(minutes=1)).normalize(), side="right"
        )
        - 1
    ]
    frames = []
    per_ticker = dict(tuple(intraday.groupby("ticker", sort=False))) if has_intraday else {}
    regular = dict(tuple(_regular(intraday).groupby("ticker", sort=False))) if has_intraday else {}
    daily_tickers = set(by_session.index.get_level_values(0))
    for ticker in tickers:
        bars = per_ticker.get(ticker)
        daily = by_session[ticker] if ticker in daily_tickers else None
        if bars is not None and ticker in regular and daily is not None:
            q = _ticker_quotes(
                bars.reset_index(drop=True),
                regular[ticker].reset_index(drop=True),
                daily,
                cycles,
                prev,
            )
            current = (q["session_date"].to_numpy() == np.asarray(expected)) & (
                q[["session_move_pct", "change_5d_pct"]].notna().all(axis=1).to_numpy()
            )
            q.loc[~current, :] = np.nan
        else:
            q = _no_quotes(len(cycles))
        q["cycle_ts"], q["ticker"] = cycles, ticker
        fallback = q["last"].isna().to_numpy()
        old = ~fallback & _too_old(cycles, q["quote_ts"])
        if fallback.any():
            keys = list(zip(cycles[fallback], [ticker] * fallback.sum(), strict=True))
            seen = visible.reindex(keys)
            q.loc[fallback, "last"] = seen["close"].to_numpy()
            q.loc[fallback, "quote_ts"] = seen["bar_ts"].to_numpy()
            q.loc[fallback, "session_date"] = seen["session_date"].to_numpy()
            q.loc[fallback, "quote_source"] = "daily close"
        q["stale"] = (fallback & has_intraday) | old
        frames.append(q)
    out = pd.concat(frames, ignore_index=True)
    out = out.astype(
        {
            "last": float,
            "prev_close": float,
            "session_move_pct": float,
            "since_open_pct": float,
            "range_position": float,
            "extended_move_pct": float,
            "since_prev_cycle_pct": float,
            "change_5d_pct": float,
            "stale": bool,
        }
    )
    out["quote_ts"] = pd.to_datetime(out["quote_ts"]).astype("datetime64[ns]")
    out["session_date"] = pd.to_datetime(out["session_date"]).astype("datetime64[ns]")
    out["extended_session"] = (
        out["extended_session"].astype(object).where(out["extended_session"].notna(), None)
    )
    return out[QUOTE_COLUMNS].sort_values(["cycle_ts", "ticker"]).reset_index(drop=True)
