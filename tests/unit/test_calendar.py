"""The NYSE schedule the package reads: exchange_calendars', built or read from the cache."""

import exchange_calendars as xc
import pandas as pd

from workshop_dagster.market import calendar


def test_the_cached_schedule_is_the_exchange_calendar(tmp_path, monkeypatch):
    reference = xc.get_calendar("XNYS", start=calendar.CALENDAR_START)
    monkeypatch.setattr(calendar, "_CACHE_DIR", [])
    calendar.cache_in(tmp_path)
    try:
        calendar.xnys.cache_clear()
        built = calendar.xnys()  # builds and writes the cache
        (cached_file,) = tmp_path.glob("xnys-*.json")
        calendar.xnys.cache_clear()
        read = calendar.xnys()  # reads it
    finally:
        calendar.xnys.cache_clear()
    for schedule in (built, read):
        assert schedule.sessions.equals(pd.DatetimeIndex(reference.sessions))
        assert schedule.closes_utc.equals(pd.DatetimeIndex(reference.schedule["close"]))
    assert read.is_session(pd.Timestamp("2026-04-02")) and not read.is_session(
        pd.Timestamp("2026-04-03")  # Good Friday
    )
    days = read.sessions_in_range(pd.Timestamp("2025-11-26"), pd.Timestamp("2025-12-01"))
    assert [d.strftime("%m-%d") for d in days] == ["11-26", "11-28", "12-01"]
    # An unreadable cache is rebuilt.
    cached_file.write_bytes(b"junk")
    calendar.xnys.cache_clear()
    try:
        assert calendar.xnys().sessions.equals(built.sessions)
    finally:
        calendar.xnys.cache_clear()


def test_early_closes_and_holidays_from_the_schedule():
    closes = calendar.session_closes(pd.DatetimeIndex(["2025-11-28", "2025-12-01"]))
    assert [str(c) for c in closes] == ["2025-11-28 13:00:00", "2025-12-01 16:00:00"]
    assert not calendar.is_session("2025-11-27")
    assert calendar.next_session_open_day(pd.DatetimeIndex(["2025-11-26"]))[0] == pd.Timestamp(
        "2025-11-28"
    )
