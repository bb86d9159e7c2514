"""Turning a stated timeframe into the trading session whose close ends the call.

A timeframe of H hours covers n trading sessions: n = round(H / 24) for less than five days, and
five sessions per seven calendar days beyond that (1w = 5 sessions, 1 month = 21). The horizon
ends at the close of the n-th session that closes after the cycle time, from the NYSE calendar,
so a "48h" call made on Friday evening ends on Tuesday's close, not on a Sunday.

From any minute of the day (`horizon_end_for`): a horizon of 12 hours or more counts its
sessions after the session of the cycle's day when that session has not closed yet, so "24h" or
"tomorrow" from a late-morning cycle ends at the next session's close, not today's (seed 000:
"QQQ will close lower tomorrow (24h from now)"). A shorter one ("4h") ends within the session it
starts in, at the latest at its close; "EOD", "by the close" and "today" end at that close. A
cycle after the close (or on a closed day) starts in the next session.
"""

from __future__ import annotations

import math

import pandas as pd

from ..market import calendar


def sessions_for_hours(hours: float) -> int:
    days = hours / 24.0
    n = round(days) if days < 5 else round(days * 5 / 7)
    return max(1, int(n))


def horizon_end(cycle_ts: pd.Timestamp, sessions: int) -> pd.Timestamp:
    """The close of the `sessions`-th session that closes after `cycle_ts` (naive NY)."""
    cycle_ts = calendar.to_naive_ny(cycle_ts)
    closes = calendar.all_session_closes()
    last = closes.searchsorted(cycle_ts, side="right") + sessions - 1
    if last >= len(closes):
        raise ValueError(f"the trading calendar ends before {sessions} sessions after {cycle_ts}")
    return closes[last]


SUB_SESSION_HOURS = 12.0


def _current_or_next_session(cycle_ts: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(open, close) of the session the cycle is in or before (the next one after a close)."""
    closes = calendar.all_session_closes()
    i = closes.searchsorted(cycle_ts, side="right")
    if i >= len(closes):
        raise ValueError(f"the trading calendar ends before {cycle_ts}")
    close = closes[i]
    return close.normalize() + calendar.SESSION_OPEN, close


def horizon_end_for(
    cycle_ts: pd.Timestamp, hours: float, sessions: int, to_close: bool = False
) -> pd.Timestamp:
    """The end of a horizon stated as a duration (or "EOD": `to_close`), from any minute."""
    cycle_ts = calendar.to_naive_ny(cycle_ts)
    opens, close = _current_or_next_session(cycle_ts)
    if to_close:
        return close
    if hours < SUB_SESSION_HOURS:
        return min(max(cycle_ts, opens) + pd.Timedelta(hours=hours), close)
    # The session the cycle is in (or before, on its day) is not the first of the n.
    in_day = close.normalize() == cycle_ts.normalize()
    return horizon_end(close if in_day else cycle_ts, sessions)


def sessions_until(cycle_ts: pd.Timestamp, end_date: pd.Timestamp) -> int:
    """How many sessions close after the cycle and on or before `end_date`'s close (at least 1)."""
    cycle_ts = calendar.to_naive_ny(cycle_ts)
    closes = calendar.all_session_closes()
    after_end_day = pd.Timestamp(end_date).normalize() + pd.Timedelta(days=1)
    n = closes.searchsorted(after_end_day, side="left") - closes.searchsorted(cycle_ts, "right")
    return max(1, int(n))


def timeframe_bucket(hours: float) -> str:
    """Coarse buckets for the track record: intraday, 1-2d, 3-5d, 1-4w, longer."""
    if hours <= 12:
        return "intraday"
    if hours <= 48:
        return "1-2d"
    if hours <= 120:
        return "3-5d"
    if hours <= 24 * 31:
        return "1-4w"
    return "longer"


def ceil_hours(sessions: int) -> float:
    return float(math.ceil(sessions * 24))
