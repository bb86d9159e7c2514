"""The NYSE trading calendar, from `exchange_calendars` (holidays and early closes included).

All times leaving this module are naive wall-clock America/New_York timestamps: that is how every
table stores time, because the DuckDB IO manager compares partition bounds as naive NY times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from . import file_cache

if TYPE_CHECKING:
    import pandas as pd

NY = "America/New_York"
CYCLE_KEY_FORMAT = "%Y-%m-%d-%H:%M"  # a cycle's key ("2026-03-30-19:15"), as partitions name it
CALENDAR_START = "2000-01-03"
SESSION_OPEN = timedelta(hours=9, minutes=30)  # every NYSE session opens at 09:30
# pandas is imported where it is used: the partitions (so the code location's load) read this
# module's constants, and pandas' import is most of what that load costs (docs/performance.md).


# Where the NYSE schedule is kept between processes (`cache_in`); None: built in each process.
_CACHE_DIR: list[Path] = []


def cache_in(folder: Path) -> None:
    """Keep the NYSE schedule in `folder` (the project's cache), so a process reads two lists
    instead of importing exchange_calendars and building the calendar (~0.35 s a process: every
    run pays it, docs/performance.md)."""
    _CACHE_DIR[:] = [Path(folder)]


@dataclass(frozen=True)
class Schedule:
    """The NYSE sessions (naive dates) and each one's close (UTC), from exchange_calendars:
    what this module reads of the calendar."""

    sessions: pd.DatetimeIndex
    closes_utc: pd.DatetimeIndex

    @property
    def first_session(self) -> pd.Timestamp:
        return self.sessions[0]

    @property
    def last_session(self) -> pd.Timestamp:
        return self.sessions[-1]

    def sessions_in_range(self, start, end) -> pd.DatetimeIndex:
        lo = self.sessions.searchsorted(start, side="left")
        hi = self.sessions.searchsorted(end, side="right")
        return self.sessions[lo:hi]

    def is_session(self, day) -> bool:
        pos = self.sessions.searchsorted(day)
        return bool(pos < len(self.sessions) and self.sessions[pos] == day)


def _built() -> Schedule:
    import exchange_calendars as xc
    import pandas as pd

    cal = xc.get_calendar("XNYS", start=CALENDAR_START)
    closes = cal.schedule["close"]
    return Schedule(pd.DatetimeIndex(cal.sessions), pd.DatetimeIndex(closes.loc[cal.sessions]))


@lru_cache(maxsize=1)
def xnys() -> Schedule:
    """The NYSE schedule (once per process; from the cache folder when one is set and it was
    written today by the same exchange_calendars version: a calendar reaches a year ahead, so
    it is rebuilt daily)."""
    if not _CACHE_DIR:
        return _built()
    import numpy as np
    import pandas as pd

    def compute() -> dict[str, list[int]]:
        built = _built()
        return {
            "sessions": built.sessions.asi8.tolist(),
            "closes": built.closes_utc.tz_convert("UTC").tz_localize(None).asi8.tolist(),
        }

    def valid(value) -> bool:
        return (
            isinstance(value, dict)
            and isinstance(value.get("sessions"), list)
            and isinstance(value.get("closes"), list)
            and len(value["sessions"]) == len(value["closes"]) > 0
        )

    day = datetime.now(ZoneInfo(NY)).date().isoformat()
    key = ["xnys", CALENDAR_START, day, version("exchange_calendars")]
    value = file_cache.cached(_CACHE_DIR[0], "xnys", key, compute, valid)
    return Schedule(
        pd.DatetimeIndex(np.array(value["sessions"], dtype="datetime64[ns]")),
        pd.DatetimeIndex(np.array(value["closes"], dtype="datetime64[ns]")).tz_localize("UTC"),
    )


def sessions(start, end) -> pd.DatetimeIndex:
    """Trading sessions (dates, naive) between start and end inclusive, clipped to the calendar."""
    import pandas as pd

    # One calendar per process: a run needs the full one for session closes anyway, and the
    # code-location load reads the partitions' closed days from a cache instead.
    cal = xnys()
    start = max(pd.Timestamp(start).normalize(), cal.first_session)
    end = min(pd.Timestamp(end).normalize(), cal.last_session)
    if start > end:
        return pd.DatetimeIndex([])
    return cal.sessions_in_range(start, end)


def is_session(day) -> bool:
    import pandas as pd

    return bool(xnys().is_session(pd.Timestamp(day).normalize()))


def session_closes(days: pd.DatetimeIndex | pd.Series) -> pd.DatetimeIndex:
    """The close of each session as naive NY time (16:00, or 13:00 on early-close days)."""
    import pandas as pd

    cal = xnys()
    closes = pd.Series(cal.closes_utc, index=cal.sessions)
    idx = pd.DatetimeIndex(pd.to_datetime(days)).normalize()
    missing = idx[~idx.isin(closes.index)]
    if len(missing):
        raise ValueError(f"not NYSE sessions: {[d.date().isoformat() for d in missing[:5]]}")
    return pd.DatetimeIndex(closes.loc[idx].dt.tz_convert(NY).dt.tz_localize(None).values)


@lru_cache(maxsize=1)
def all_session_closes() -> pd.DatetimeIndex:
    """Every session's close as naive NY time, sorted (built once: horizons are looked up in
    it for every call the loop parses)."""
    return session_closes(xnys().sessions)


def last_close_at(ts) -> pd.Timestamp | None:
    """The last session close at or before `ts` (naive NY time); None before the first."""
    closes = all_session_closes()
    pos = closes.searchsorted(to_naive_ny(ts), side="right")
    return closes[pos - 1] if pos > 0 else None


def next_session_open_day(days: pd.DatetimeIndex | pd.Series) -> pd.DatetimeIndex:
    """For each date, the first session strictly after it (naive dates)."""
    import pandas as pd

    cal = xnys()
    all_sessions = cal.sessions
    idx = pd.DatetimeIndex(pd.to_datetime(days)).normalize()
    pos = all_sessions.searchsorted(idx, side="right")
    if (pos >= len(all_sessions)).any():
        raise ValueError("date beyond the end of the trading calendar")
    return pd.DatetimeIndex(all_sessions[pos])


def to_naive_ny(ts) -> pd.Timestamp:
    """A timestamp as naive NY wall-clock time (tz-aware inputs are converted, naive ones kept)."""
    import pandas as pd

    ts = pd.Timestamp(ts)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(NY).tz_localize(None)
    return ts


def now_ny() -> pd.Timestamp:
    """The wall-clock time now, as naive New York time (what "knowable now" is compared with)."""
    import pandas as pd

    return to_naive_ny(pd.Timestamp.now(tz="UTC"))
