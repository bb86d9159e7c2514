"""The as-of rule: a cycle sees only bars and rates published at or before its time."""

import pandas as pd
import pytest

from workshop_dagster.lib.partitions import build_cycle_partitions, key_to_time
from workshop_dagster.market import calendar
from workshop_dagster.market.asof import market_snapshot, publish_rates
from workshop_dagster.market.csv_replay import CsvMarket
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.simulator import SimulatedMarket


def _cycles(start: str, end: str) -> list[pd.Timestamp]:
    parts = build_cycle_partitions("2025-01-02", "15 9,12,19 * * 1-5", "America/New_York")
    keys = [k for k in parts.get_partition_keys() if start <= k[:10] <= end]
    return [key_to_time(k) for k in keys]


def _assert_no_lookahead(bars: pd.DataFrame, rates: pd.DataFrame) -> None:
    assert len(bars) and len(rates)
    assert (bars["bar_ts"] <= bars["cycle_ts"]).all()
    assert (rates["as_of"] <= rates["cycle_ts"]).all()
    # And a bar is never dated after its publication.
    assert (bars["session_date"] < bars["bar_ts"]).all()


def test_no_lookahead_sim_range():
    cycles = _cycles("2026-02-02", "2026-03-31")
    bars, rates = market_snapshot(SimulatedMarket(7), cycles)
    _assert_no_lookahead(bars, rates)
    assert set(bars["cycle_ts"]) == set(cycles)


def test_no_lookahead_csv_range(shared_market):
    cycles = _cycles("2026-03-02", "2026-04-30")
    bars, rates = market_snapshot(CsvMarket(shared_market), cycles)
    _assert_no_lookahead(bars, rates)


def test_midday_cycle_sees_yesterdays_close_evening_sees_todays():
    src = SimulatedMarket(7)
    bars, rates = market_snapshot(
        src, [pd.Timestamp("2026-03-30 12:15"), pd.Timestamp("2026-03-30 19:15")]
    )
    last = bars.groupby("cycle_ts")["session_date"].max()
    assert last[pd.Timestamp("2026-03-30 12:15")] == pd.Timestamp("2026-03-27")
    assert last[pd.Timestamp("2026-03-30 19:15")] == pd.Timestamp("2026-03-30")
    spread = rates[rates["series"] == "spread_10y_2y"].groupby("cycle_ts")["obs_date"].max()
    # The Treasury curve for a day is public at 18:00 that day.
    assert spread[pd.Timestamp("2026-03-30 12:15")] == pd.Timestamp("2026-03-27")
    assert spread[pd.Timestamp("2026-03-30 19:15")] == pd.Timestamp("2026-03-30")


def test_publication_times():
    obs = pd.DataFrame(
        {
            "code": ["DGS10", "DFF", "DFF", "DFF"],
            "obs_date": pd.to_datetime(["2026-03-27", "2026-03-27", "2026-03-28", "2026-04-02"]),
            "value": [4.44, 3.64, 3.64, 3.64],
        }
    )
    published = publish_rates(obs)["as_of"].tolist()
    assert published[0] == pd.Timestamp("2026-03-27 18:00")
    # Fed funds: 09:00 on the next trading day (weekends and Good Friday skipped).
    assert published[1] == pd.Timestamp("2026-03-30 09:00")
    assert published[2] == pd.Timestamp("2026-03-30 09:00")
    assert published[3] == pd.Timestamp("2026-04-06 09:00")


def test_early_close_bar_published_at_13():
    closes = calendar.session_closes(pd.DatetimeIndex(["2025-11-28", "2025-12-01"]))
    assert list(closes) == [pd.Timestamp("2025-11-28 13:00"), pd.Timestamp("2025-12-01 16:00")]


def test_stale_source_fails_clearly(shared_market):
    # The shared CSVs end on 2026-08-21; a November cycle must not silently reuse August bars.
    with pytest.raises(MarketDataError, match="no bars for SPY"):
        market_snapshot(CsvMarket(shared_market), [pd.Timestamp("2026-11-20 19:15")])
    with pytest.raises(MarketDataError, match="end on 2026-08-21"):
        market_snapshot(CsvMarket(shared_market), [pd.Timestamp("2026-09-01 19:15")])
    # In a range, the first cycle that would see stale bars is the one named.
    cycles = [pd.Timestamp(t) for t in ("2026-08-20 19:15", "2026-09-01 19:15", "2026-09-02 19:15")]
    with pytest.raises(
        MarketDataError,
        match=r"^cycle 2026-09-01 19:15: bars for .* end on 2026-08-21, .* before 2026-09-01;",
    ):
        market_snapshot(CsvMarket(shared_market), cycles)


def test_cycle_before_history_fails_clearly():
    with pytest.raises(ValueError, match="simulator starts"):
        market_snapshot(SimulatedMarket(7), [pd.Timestamp("2017-06-01 19:15")])
