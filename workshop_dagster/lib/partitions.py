"""Cycle partitions: one partition per cycle time, on NYSE trading days only.

The cron (WORKSHOP_CYCLE_CRON) fires on weekdays; ticks that fall on NYSE holidays are excluded
with the holiday list of `exchange_calendars`, so "backfill March" never runs a cycle on Good
Friday. A cycle's ordinal ("Cycle 280") is its 1-based position in the partition set.
"""

from __future__ import annotations

import bisect
from datetime import datetime, time
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import dagster as dg

from ..config.settings import Settings, load_settings
from ..market import calendar, file_cache
from ..market.cycles import Cycle, key_to_time
from ..platform.partitions_memo import memoize_partition_keys, memoize_partitions_hash

if TYPE_CHECKING:
    pass

CYCLE_KEY_FORMAT = calendar.CYCLE_KEY_FORMAT
EXCLUSION_HORIZON_YEARS = 1


# The partitions are built when the code location loads: datetime here, pandas only where a run
# needs it (its import is most of what the load costs beyond Dagster's, docs/performance.md).


def _start_dt(start: str, timezone: str) -> datetime:
    """WORKSHOP_START ("2025-01-02" or "2025-01-02 09:00") as an aware datetime."""
    return datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(timezone))


def _horizon(timezone: str) -> datetime:
    """Midnight a year from today (Feb 29 gives Feb 28), aware."""
    today = datetime.now(ZoneInfo(timezone)).date()
    year = today.year + EXCLUSION_HORIZON_YEARS
    try:
        day = today.replace(year=year)
    except ValueError:
        day = today.replace(year=year, day=28)
    return datetime.combine(day, time(), ZoneInfo(timezone))


def _holiday_ticks(start: str, cron: str, timezone: str) -> list:
    """The cron ticks that fall on days the NYSE is closed, from start to a year ahead.

    Only the closed days are walked, with Dagster's own cron iterator (so a DST change yields
    exactly the tick the partitions hold), and a fine cron costs no more than a coarse one.
    Ticks after today are included: a code server loaded before a holiday must not offer it.
    """
    import pandas as pd

    from ..platform.cron import cron_ticks

    first = pd.Timestamp(start).normalize()
    days = pd.date_range(first, pd.Timestamp(_horizon(timezone)).tz_localize(None), freq="D")
    open_days = set(calendar.sessions(days.min(), days.max()))
    begin = pd.Timestamp(start)
    ticks = []
    for day in days:
        if day in open_days:
            continue
        lower = max(day, begin).tz_localize(timezone)
        upper = (day + pd.Timedelta(days=1)).tz_localize(timezone)
        for tick in cron_ticks(cron, lower.timestamp(), timezone):
            t = pd.Timestamp(tick)
            if t >= upper:
                break
            if t >= lower:
                ticks.append(t.tz_convert(timezone))
    return ticks


def time_to_key(ts) -> str:
    """The key of the cycle at `ts`, formatted from it: only for a time that came from no key
    (a schedule's tick, now); a run's cycles carry their keys (`market/cycles.Cycle`)."""
    return Cycle.of_time(ts).key


def _cached(cache_dir: Path | None, name: str, inputs: tuple[str, ...], compute) -> list[str]:
    """`compute()` (a list of strings), read from `cache_dir` when it was written today for the
    same inputs (start, cron, timezone, skipped crons) and library versions.

    Every process that loads the code location (each run, the code server, each sensor tick)
    builds the partitions, and each run numbers its cycles: the cache spares them the exchange
    calendar's import and build and Dagster's listing of every partition key (docs/performance.md).
    The key holds the horizon's date, so a list is rebuilt once a day, and the versions of
    exchange_calendars and dagster (the holiday rules, the cron iterator) (`file_cache`).
    """
    key = [*inputs, str(_horizon(inputs[2]).date())]
    key += [version("exchange_calendars"), version("dagster")]
    return file_cache.cached(
        cache_dir,
        name,
        key,
        compute,
        lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
    )


def _closed_ticks(start: str, cron: str, timezone: str, cache_dir: Path | None) -> list[datetime]:
    """`_holiday_ticks` as aware datetimes (cached: see `_cached`)."""
    ticks = _cached(
        cache_dir,
        "closed-cycle-ticks",
        (start, cron, timezone),
        lambda: [t.isoformat() for t in _holiday_ticks(start, cron, timezone)],
    )
    # With their UTC offsets: the repeated hour of a DST change stays two distinct ticks.
    zone = ZoneInfo(timezone)
    return [datetime.fromisoformat(t).astimezone(zone) for t in ticks]


# The cycle partitions carry hundreds of exclusions, which make Dagster's hash of them slow.
memoize_partitions_hash()
memoize_partition_keys()

# The settings and cache folder each cached partition set was built from (for its keys).
_BUILT_FROM: dict[dg.TimeWindowPartitionsDefinition, tuple[tuple[str, ...], Path | None]] = {}


@lru_cache(maxsize=4)
def build_cycle_partitions(
    start: str,
    cron: str,
    timezone: str,
    cache_dir: Path | None = None,
    skip: tuple[str, ...] = (),
) -> dg.TimeWindowPartitionsDefinition:
    """The cycle partitions of a cron from `start`, closed days and the ticks of the `skip`
    crons excluded; with `cache_dir`, the closed days' ticks and the keys are cached there (see
    `_cached`)."""
    partitions = dg.TimeWindowPartitionsDefinition(
        start=_start_dt(start, timezone),
        cron_schedule=cron,
        timezone=timezone,
        fmt=CYCLE_KEY_FORMAT,
        exclusions=[*_closed_ticks(start, cron, timezone, cache_dir), *skip] or None,
        # The cycle that has just ticked is runnable at once, not only when the next one starts.
        end_offset=1,
    )
    _BUILT_FROM[partitions] = ((start, cron, timezone, ";".join(skip)), cache_dir)
    return partitions


def cycle_partitions(settings: Settings | None = None) -> dg.TimeWindowPartitionsDefinition:
    """The cycle partitions the settings describe (default: the environment's)."""
    s = settings or load_settings()
    return build_cycle_partitions(
        s.start, s.cycle_cron, s.timezone, s.data_dir / "cache", s.cycle_skip
    )


@lru_cache(maxsize=4)
def _keys_through_horizon(partitions: dg.TimeWindowPartitionsDefinition) -> tuple[str, ...]:
    horizon = _horizon(partitions.timezone)
    # Partitions built elsewhere (not by build_cycle_partitions) have no cache: computed.
    inputs, cache_dir = _BUILT_FROM.get(partitions, ((), None))
    return tuple(
        _cached(
            cache_dir,
            "cycle-keys",
            inputs,
            lambda: partitions.get_partition_keys(current_time=horizon),
        )
    )


def previous_cycle_key(
    key: str, partitions: dg.TimeWindowPartitionsDefinition | None = None
) -> str | None:
    """The cycle before `key` in the partition set (None for the first)."""
    keys = _keys_through_horizon(partitions or cycle_partitions())
    pos = bisect.bisect_left(keys, key)
    return keys[pos - 1] if pos > 0 else None


def cycle_key_problem(
    key: str, partitions: dg.TimeWindowPartitionsDefinition | None = None
) -> str | None:
    """Why `key` is not a cycle of the partition set (None when it is one), naming the nearest
    cycles: Dagster maps any time inside a range run's bounds to the cycles around it, so a key
    off the cadence ("2026-08-07-15:16") or on a closed day would run another cycle."""
    partitions = partitions or cycle_partitions()
    keys = _keys_through_horizon(partitions)
    pos = bisect.bisect_left(keys, key)
    if pos < len(keys) and keys[pos] == key:
        return None
    nearest = [keys[i] for i in (pos - 1, pos) if 0 <= i < len(keys)]
    around = " and ".join(nearest)
    try:
        when = key_to_time(key)
    except ValueError:
        return (
            f"{key!r} is not a cycle key: keys are New York times like "
            f"{keys[-1] if keys else '2026-03-30-19:15'!r}"
        )
    if pos == 0:
        return (
            f"{key} is before the first cycle ({keys[0] if keys else 'none'}: WORKSHOP_START "
            "sets it); choose a later cycle, or an earlier WORKSHOP_START"
        )
    if pos == len(keys):
        return f"{key} is further ahead than the cycles known ({keys[-1]} is the last)"
    if not calendar.is_session(when.normalize()):
        return (
            f"{key} is not a cycle: {when:%A %Y-%m-%d} is not a NYSE trading day "
            f"(the nearest cycles: {around})"
        )
    return (
        f"{key} is not a cycle of the cadence (WORKSHOP_CYCLE_CRON); the nearest cycles: {around}"
    )


def cycle_ordinal(key: str, partitions: dg.TimeWindowPartitionsDefinition | None = None) -> int:
    """The 1-based position of a cycle in the partition set (the seeds' "Cycle 280")."""
    keys = _keys_through_horizon(partitions or cycle_partitions())
    pos = bisect.bisect_left(keys, key)
    if pos == len(keys) or keys[pos] != key:
        raise ValueError(f"{key!r} is not a cycle of this partition set")
    return pos + 1
