import json

import pandas as pd
import pytest

from workshop_dagster.config.settings import DEFAULT_CYCLE_CRON, DEFAULT_CYCLE_SKIP, load_settings
from workshop_dagster.lib.partitions import (
    _keys_through_horizon,
    build_cycle_partitions,
    cycle_ordinal,
    key_to_time,
)

TZ = "America/New_York"


@pytest.fixture(scope="module")
def parts():
    return build_cycle_partitions("2025-01-02", DEFAULT_CYCLE_CRON, TZ, None, DEFAULT_CYCLE_SKIP)


def test_the_default_cadence_is_pre_market_every_half_hour_of_the_session_and_evening(parts):
    keys = [k for k in parts.get_partition_keys() if k.startswith("2026-03-30")]
    session = [f"2026-03-30-{h:02d}:{m}" for h in range(9, 16) for m in ("15", "45")]
    assert keys == [*session, "2026-03-30-19:15", "2026-03-30-19:45"]  # 09:15 pre-market .. 19:45
    assert parts.timezone == TZ
    # An early close (13:00, the day after Thanksgiving) keeps its cycles: those after the
    # close find nothing new and consult no mind (minds/nothing_new.py).
    assert len([k for k in parts.get_partition_keys() if k.startswith("2025-11-28")]) == 16


def test_a_skipped_tick_is_no_cycle_but_its_neighbours_are():
    skipping = build_cycle_partitions("2026-03-02", DEFAULT_CYCLE_CRON, TZ, None, ("45 19 * * *",))
    assert not skipping.has_partition_key("2026-03-30-19:45")
    assert skipping.has_partition_key("2026-03-30-19:15")
    assert skipping.has_partition_key("2026-03-30-15:45")


def test_exchange_holidays_have_no_cycles(parts):
    keys = parts.get_partition_keys()
    days = {k[:10] for k in keys}
    # Good Friday 2026, Thanksgiving 2025, New Year's Day 2026: from exchange_calendars.
    for holiday in ("2026-04-03", "2025-11-27", "2026-01-01", "2025-07-04"):
        assert holiday not in days
    assert "2026-04-02" in days and "2025-11-28" in days  # the sessions around them stay
    assert not any(key_to_time(k).weekday() >= 5 for k in keys)


def test_ordinal_counts_cycles_from_the_start(parts):
    assert cycle_ordinal("2025-01-02-09:15", parts) == 1
    assert cycle_ordinal("2025-01-02-19:45", parts) == 16
    assert cycle_ordinal("2025-01-03-09:15", parts) == 17
    keys = parts.get_partition_keys()
    ordinals = [cycle_ordinal(k, parts) for k in keys[-20:]]
    assert ordinals == list(range(len(keys) - 19, len(keys) + 1))
    with pytest.raises(ValueError):
        cycle_ordinal("2026-04-03-19:15", parts)  # Good Friday is no cycle


def test_cron_and_start_are_configurable():
    settings = load_settings(
        {"WORKSHOP_CYCLE_CRON": "15 19 * * 1-5", "WORKSHOP_START": "2018-01-02"}
    )
    parts = build_cycle_partitions(settings.start, settings.cycle_cron, TZ)
    keys = parts.get_partition_keys()
    assert keys[0] == "2018-01-02-19:15"
    assert all(k.endswith("19:15") for k in keys)
    # One evening cycle per NYSE session.
    from workshop_dagster.market import calendar

    sessions = calendar.sessions("2018-01-02", key_to_time(keys[-1]))
    assert len(keys) == len(sessions)
    assert pd.Timestamp(keys[-1][:10]) == sessions[-1]


def test_bad_seed_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="WORKSHOP_SEED"):
        load_settings({"WORKSHOP_SEED": "seven"})


def test_a_fine_cron_has_no_cycle_on_a_closed_day():
    from workshop_dagster.market import calendar

    parts = build_cycle_partitions("2025-12-19", "*/30 * * * *", TZ)
    keys = parts.get_partition_keys()[:-1]  # the last is the window in progress now
    assert keys, "a half-hourly cron has cycles"
    assert all(calendar.is_session(key_to_time(k).normalize()) for k in keys)
    assert not any(k.startswith(("2025-12-20", "2025-12-25")) for k in keys)


def test_holidays_ahead_are_excluded_too(parts):
    """A code server loaded today must not offer next Thanksgiving as a cycle when it comes."""
    from workshop_dagster.market import calendar

    ahead = pd.Timestamp.now(tz=TZ) + pd.Timedelta(days=300)
    keys = parts.get_partition_keys(current_time=ahead.to_pydatetime())
    future = [k for k in keys if key_to_time(k) > pd.Timestamp.now()]
    assert len(future) > 500
    assert all(calendar.is_session(key_to_time(k).normalize()) for k in future)


def test_closed_ticks_cache_is_the_same_partitions_and_survives_a_bad_file(tmp_path, parts):
    """The cached closed days give the very partitions the calendar gives; a corrupt or
    unwritable cache costs only the speed."""
    cached = build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, TZ, tmp_path, DEFAULT_CYCLE_SKIP
    )
    (path,) = tmp_path.glob("closed-cycle-ticks-*.json")
    assert cached.get_partition_keys() == parts.get_partition_keys()
    assert cached.exclusions == parts.exclusions
    # The ordinals come from a cached key list too, and agree with the partitions' own keys.
    _keys_through_horizon.cache_clear()  # equal partitions share an entry: read the file
    keys = parts.get_partition_keys()
    assert [cycle_ordinal(k, cached) for k in (keys[0], keys[-1])] == [1, len(keys)]
    assert len(list(tmp_path.glob("cycle-keys-*.json"))) == 1
    build_cycle_partitions.cache_clear()  # the next builds read the file
    again = build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, TZ, tmp_path, DEFAULT_CYCLE_SKIP
    )
    assert again.exclusions == parts.exclusions
    path.write_text("{not json")
    build_cycle_partitions.cache_clear()
    repaired = build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, TZ, tmp_path, DEFAULT_CYCLE_SKIP
    )
    assert repaired.exclusions == parts.exclusions
    assert json.loads(path.read_text())  # rewritten
    other = build_cycle_partitions("2025-01-02", "15 19 * * 1-5", TZ, tmp_path)
    assert len(list(tmp_path.glob("closed-cycle-ticks-*.json"))) == 1  # one live file a folder
    assert other.exclusions != parts.exclusions
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    build_cycle_partitions.cache_clear()
    assert build_cycle_partitions(
        "2025-01-02", DEFAULT_CYCLE_CRON, TZ, blocked, DEFAULT_CYCLE_SKIP
    ).exclusions == (parts.exclusions)


def test_cached_ticks_keep_the_repeated_hour_of_a_dst_change(tmp_path):
    """A half-hourly cron on 2025-11-02 (a Sunday) ticks twice at 01:00 and 01:30."""
    plain = build_cycle_partitions("2025-10-31", "*/30 * * * *", TZ)
    cached = build_cycle_partitions("2025-10-31", "*/30 * * * *", TZ, tmp_path)
    build_cycle_partitions.cache_clear()
    reread = build_cycle_partitions("2025-10-31", "*/30 * * * *", TZ, tmp_path)
    assert plain.exclusions == cached.exclusions == reread.exclusions
    end = pd.Timestamp("2025-11-04", tz=TZ).to_pydatetime()
    assert reread.get_partition_keys(current_time=end) == plain.get_partition_keys(current_time=end)


def test_kept_partition_keys_are_dagsters_at_every_time_and_each_a_copy(parts):
    """The keys are listed once per last partition (platform/partitions_memo.py): the same as
    Dagster's own walk, before and after a new partition opens, on a half hour and a DST day."""
    import dagster as dg

    from workshop_dagster.platform import partitions_memo

    assert dg.TimeWindowPartitionsDefinition._workshop_memo_keys
    dagsters = partitions_memo.ORIGINAL_GET_PARTITION_KEYS
    assert len(parts.exclusions) >= partitions_memo.MANY_EXCLUSIONS
    dst = build_cycle_partitions("2025-10-31", "*/30 * * * *", TZ)
    for partitions, times in (
        (parts, ["2025-06-02 09:44", "2025-06-02 09:45", "2025-06-02 09:46", "2025-12-24 20:00"]),
        # UTC: 01:20 before the clocks go back, 01:40 after (the repeated hour), the next day.
        (dst, ["2025-11-02 05:20Z", "2025-11-02 06:40Z", "2025-11-03 17:00Z"]),
    ):
        for text in times:
            now = (
                pd.Timestamp(text).tz_convert(TZ)
                if text.endswith("Z")
                else pd.Timestamp(text, tz=TZ)
            )
            now = now.to_pydatetime()
            kept = partitions.get_partition_keys(current_time=now)
            assert kept == dagsters(partitions, now) and kept is not partitions.get_partition_keys(
                current_time=now
            )
    kept = parts.get_partition_keys(current_time=pd.Timestamp("2025-06-02 12:00", tz=TZ))
    kept.clear()  # a caller changing its list changes no one else's
    assert parts.get_partition_keys(current_time=pd.Timestamp("2025-06-02 12:00", tz=TZ))
