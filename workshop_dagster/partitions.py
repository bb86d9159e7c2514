"""Cycle partitions: one partition per cycle time, on NYSE trading days only.

The cron (WORKSHOP_CYCLE_CRON) fires on weekdays; ticks that fall on NYSE holidays are excluded
with the holiday list of `exchange_calendars`, so "backfill March" never runs a cycle on Good
Friday. A cycle's ordinal ("Cycle 280") is its 1-based position in the partition set.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

import dagster as dg
import pandas as pd

from .market import calendar
from .settings import load_settings

CYCLE_KEY_FORMAT = "%Y-%m-%d-%H:%M"
EXCLUSION_HORIZON_YEARS = 1


def _start_dt(start: str, timezone: str):
    """WORKSHOP_START ("2025-01-02" or "2025-01-02 09:00") as an aware datetime."""
    return pd.Timestamp(start).tz_localize(timezone).to_pydatetime()


def _horizon(timezone: str) -> pd.Timestamp:
    return pd.Timestamp.now(tz=timezone).normalize() + pd.DateOffset(years=EXCLUSION_HORIZON_YEARS)


def _holiday_ticks(start: str, cron: str, timezone: str) -> list[pd.Timestamp]:
    """The cron ticks that fall on days the NYSE is closed, from start to a year ahead.

    Only the closed days are walked, with Dagster's own cron iterator (so a DST change yields
    exactly the tick the partitions hold), and a fine cron costs no more than a coarse one.
    Ticks after today are included: a code server loaded before a holiday must not offer it.
    """
    from dagster._utils.schedules import cron_string_iterator

    first = pd.Timestamp(start).normalize()
    days = pd.date_range(first, _horizon(timezone).tz_localize(None).normalize(), freq="D")
    open_days = set(calendar.sessions(days.min(), days.max()))
    begin = pd.Timestamp(start)
    ticks: list[pd.Timestamp] = []
    for day in days:
        if day in open_days:
            continue
        lower = max(day, begin).tz_localize(timezone)
        upper = (day + pd.Timedelta(days=1)).tz_localize(timezone)
        for tick in cron_string_iterator(lower.timestamp(), cron, timezone):
            t = pd.Timestamp(tick)
            if t >= upper:
                break
            if t >= lower:
                ticks.append(t.tz_convert(timezone))
    return ticks


def key_to_time(key: str) -> pd.Timestamp:
    """A cycle key ("2026-03-30-19:15") as naive New York time."""
    if len(key) > 16:  # Dagster appends the UTC offset to the repeated hour of a DST change
        aware = pd.to_datetime(key, format=CYCLE_KEY_FORMAT + "%z")
        return aware.tz_convert("America/New_York").tz_localize(None)
    return pd.Timestamp(pd.to_datetime(key, format=CYCLE_KEY_FORMAT))


def time_to_key(ts) -> str:
    return calendar.to_naive_ny(ts).strftime(CYCLE_KEY_FORMAT)


@lru_cache(maxsize=4)
def build_cycle_partitions(
    start: str, cron: str, timezone: str
) -> dg.TimeWindowPartitionsDefinition:
    return dg.TimeWindowPartitionsDefinition(
        start=_start_dt(start, timezone),
        cron_schedule=cron,
        timezone=timezone,
        fmt=CYCLE_KEY_FORMAT,
        exclusions=[t.to_pydatetime() for t in _holiday_ticks(start, cron, timezone)],
        # The cycle that has just ticked is runnable at once, not only when the next one starts.
        end_offset=1,
    )


def cycle_partitions() -> dg.TimeWindowPartitionsDefinition:
    s = load_settings()
    return build_cycle_partitions(s.start, s.cycle_cron, s.timezone)


@lru_cache(maxsize=4)
def _keys_through_horizon(partitions: dg.TimeWindowPartitionsDefinition) -> tuple[str, ...]:
    horizon = _horizon(partitions.timezone).to_pydatetime()
    return tuple(partitions.get_partition_keys(current_time=horizon))


def cycle_ordinal(key: str, partitions: dg.TimeWindowPartitionsDefinition | None = None) -> int:
    """The 1-based position of a cycle in the partition set (the seeds' "Cycle 280")."""
    keys = _keys_through_horizon(partitions or cycle_partitions())
    pos = bisect.bisect_left(keys, key)
    if pos == len(keys) or keys[pos] != key:
        raise ValueError(f"{key!r} is not a cycle of this partition set")
    return pos + 1
