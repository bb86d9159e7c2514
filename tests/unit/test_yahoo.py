"""The live adapter against Yahoo's real wire format, through the real yfinance code."""

import pandas as pd
import pytest

from tests.conftest import SHARED_DATA, shared_path
from tests.yahoo_wire import serve_recorded_charts
from workshop_dagster.market.csv_replay import CsvMarket
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.quality import gated
from workshop_dagster.market.yahoo import YahooMarket, frame_from_yfinance, parse_fred_csv

FRED_NEW = "observation_date,DGS10\n2026-03-27,4.44\n2026-03-30,4.35\n2026-03-31,.\n"
FRED_OLD = "DATE,DFF\n2026-03-27,3.64\n2026-03-28,3.64\n"


@pytest.fixture
def yahoo(monkeypatch, tmp_path):
    fixtures = shared_path(SHARED_DATA / "fixtures" / "yahoo")
    return serve_recorded_charts(monkeypatch, fixtures, tmp_path)


def _source(tmp_path, now="2026-11-22 10:00", fred=None):
    fred_calls = []

    def fetch_fred(code, start, end):
        fred_calls.append(code)
        if fred is None:
            raise AssertionError("no FRED call expected")
        return fred[code]

    src = YahooMarket(
        tmp_path / "cache",
        fetch_fred=fetch_fred,
        fetch_news=lambda symbol: [],
        now=lambda: pd.Timestamp(now),
    )
    return src, fred_calls


def test_download_of_real_chart_bodies_becomes_long_bars(yahoo, tmp_path):
    src, _ = _source(tmp_path)
    # Sources hand their bars through the market data gate (which drops the rows' origin).
    bars = gated(src).daily_bars(["NVDA", "MSFT"], "2021-02-01", pd.Timestamp("2022-01-31 19:15"))
    assert set(bars["ticker"]) == {"NVDA", "MSFT"}
    assert len(bars[bars["ticker"] == "NVDA"]) == 252
    assert bars["close"].notna().all()
    assert list(bars.columns) == [
        "ticker",
        "session_date",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]
    # The cache is the csv layout: a csv: replay of it gives the same bars, with no network.
    replay = gated(CsvMarket(tmp_path / "cache")).daily_bars(
        ["NVDA", "MSFT"], "2021-02-01", "2022-01-31"
    )
    pd.testing.assert_frame_equal(
        bars.reset_index(drop=True), replay.reset_index(drop=True), check_dtype=False
    )


def test_rerun_is_served_from_cache(yahoo, tmp_path):
    src, _ = _source(tmp_path)
    src.daily_bars(["NVDA"], "2021-02-01", pd.Timestamp("2022-01-31 19:15"))
    before = len(yahoo)
    again = src.daily_bars(["NVDA"], "2021-03-01", pd.Timestamp("2021-12-31 19:15"))
    assert len(yahoo) == before, "a covered range must not touch the network"
    assert again["session_date"].min() >= pd.Timestamp("2021-03-01")


def test_unknown_ticker_fails_naming_it(yahoo, tmp_path):
    src, _ = _source(tmp_path)
    with pytest.raises(MarketDataError, match="NOPE"):
        src.daily_bars(["NVDA", "NOPE"], "2021-02-01", pd.Timestamp("2022-01-31 19:15"))
    with pytest.raises(MarketDataError, match="NOPE, ZZZZ"):
        src.daily_bars(["NOPE", "ZZZZ"], "2021-02-01", pd.Timestamp("2022-01-31 19:15"))
    assert not (tmp_path / "cache" / "daily" / "NOPE.csv").exists()


def test_empty_frame_is_a_failure_naming_every_ticker():
    with pytest.raises(MarketDataError, match="SPY, QQQ"):
        frame_from_yfinance(pd.DataFrame(), ["SPY", "QQQ"])


def test_partial_bar_is_never_cached(yahoo, tmp_path):
    # Fetched at 12:00 on 2022-01-31: that session's bar is still forming.
    src, _ = _source(tmp_path, now="2022-01-31 12:00")
    src.daily_bars(["NVDA"], "2021-02-01", pd.Timestamp("2022-01-31 12:00"))
    cached = pd.read_csv(tmp_path / "cache" / "daily" / "NVDA.csv")
    assert cached["date"].max() == "2022-01-28"


def test_fred_csv_both_layouts_and_cache(tmp_path):
    parsed = parse_fred_csv(FRED_NEW, "DGS10")
    assert parsed["value"].tolist() == [4.44, 4.35]  # "." is a gap, not a zero
    assert parse_fred_csv(FRED_OLD, "DFF")["obs_date"].min() == pd.Timestamp("2026-03-27")
    with pytest.raises(MarketDataError, match="T10Y2Y"):
        parse_fred_csv("observation_date,T10Y2Y\n", "T10Y2Y")
    src, calls = _source(tmp_path, fred={"DGS10": FRED_NEW, "DFF": FRED_OLD})
    obs = src.rate_observations(["DGS10", "DFF"], "2026-03-01", pd.Timestamp("2026-03-31 19:15"))
    assert set(obs["code"]) == {"DGS10", "DFF"}
    src.rate_observations(["DGS10"], "2026-03-10", pd.Timestamp("2026-03-30 19:15"))
    assert calls == ["DGS10", "DFF"]


def test_no_lookahead_through_the_live_source(yahoo, tmp_path, shared_market):
    """Real Yahoo chart bodies and real FRED series, through the live adapter and the as-of rule."""
    from workshop_dagster.market.asof import market_snapshot
    from workshop_dagster.market.universe import RATE_SERIES

    fred = {}
    for code in RATE_SERIES:
        body = (shared_market / "rates" / f"{code}.csv").read_text().split("\n", 1)[1]
        fred[code] = f"observation_date,{code}\n{body}"
    src, _ = _source(tmp_path, now="2022-06-01 10:00", fred=fred)
    cycles = [
        pd.Timestamp(f"{day.date()} {hm}")
        for day in pd.bdate_range("2021-06-01", "2021-07-30")
        for hm in ("09:15", "12:15", "19:15")
    ]
    bars, rates = market_snapshot(src, cycles, tickers=["NVDA", "MSFT"])
    assert (bars["bar_ts"] <= bars["cycle_ts"]).all()
    assert (rates["as_of"] <= rates["cycle_ts"]).all()
    assert set(rates["series"]) == set(RATE_SERIES.values())
    # A morning cycle sees the previous session's close, an evening one that day's.
    last = bars.groupby("cycle_ts")["session_date"].max()
    assert last[pd.Timestamp("2021-06-15 12:15")] == pd.Timestamp("2021-06-14")
    assert last[pd.Timestamp("2021-06-15 19:15")] == pd.Timestamp("2021-06-15")
