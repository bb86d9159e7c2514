"""A cycle travels as one value, its key and its time made together from the partition key: the
second 01:30 of a DST change keeps its own key (Dagster appends the UTC offset), which a key
formatted again from the time would lose, naming the first 01:30's partition."""

import pandas as pd
import pytest

from workshop_dagster.market.cycles import Cycle, of_keys


def test_a_key_and_its_time_travel_together():
    (cycle,) = of_keys(["2026-03-30-19:15"])
    assert cycle == Cycle(pd.Timestamp("2026-03-30 19:15"), "2026-03-30-19:15")
    assert Cycle.of_key("2026-03-30-19:15") == cycle == Cycle.of_time(cycle.time)


def test_the_repeated_hour_of_a_dst_change_keeps_its_own_key():
    first, second = of_keys(["2026-11-01-01:30", "2026-11-01-01:30-0500"])
    assert second.key == "2026-11-01-01:30-0500"
    assert second.time == pd.Timestamp("2026-11-01 01:30")  # naive New York, as tables hold it
    assert Cycle.of_time(second.time).key == first.key  # why a key is never made again


def test_many_keys_parse_in_their_order_and_sort_by_time():
    keys = ["2026-03-31-09:15", "2026-03-30-19:15", "2026-03-30-09:15"]
    cycles = of_keys(keys)
    assert [c.key for c in cycles] == keys
    assert [c.key for c in sorted(cycles)] == keys[::-1]


def test_a_row_at_no_cycle_of_the_run_is_refused_before_it_is_written():
    from workshop_dagster.lib.per_cycle import with_cycle_key

    run = of_keys(["2026-11-01-01:30-0500", "2026-11-02-09:15"])
    frame = pd.DataFrame({"cycle_ts": [run[1].time, run[0].time], "x": [1, 2]})
    out = with_cycle_key(frame, run)
    assert list(out.columns) == ["cycle_key", "cycle_ts", "x"]
    assert out["cycle_key"].tolist() == ["2026-11-02-09:15", "2026-11-01-01:30-0500"]
    stray = frame.assign(cycle_ts=[run[1].time, pd.Timestamp("2026-11-02 09:16")])
    with pytest.raises(ValueError, match="at no cycle of this run"):
        with_cycle_key(stray, run)
