"""The live intraday adapter against frames of the exact shape `yfinance.download` returns for
intraday intervals (tz-aware index stamped with each bar's start, columns Price x Ticker), built
from the real bars in shared/data."""

import pandas as pd
import pytest

from workshop_dagster.market.csv_replay import CsvMarket
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.yahoo import YahooMarket

NOW = pd.Timestamp("2026-04-02 12:17:30")


@pytest.fixture(scope="module")
def real():
    from tests.conftest import SHARED_MARKET, shared_path

    return CsvMarket(shared_path(SHARED_MARKET))


def yfinance_frame(bars: pd.DataFrame, symbols: list[str]) -> pd.DataFrame:
    """What yfinance 1.x `download(..., interval=..., prepost=True, auto_adjust=False,
    group_by="column")` returns: one column per (Price, Ticker), 'Adj Close' included, a
    'Datetime' index in New York time; minutes where a ticker did not trade are NaN."""
    wide = {}
    for field in ("Adj Close", "Close", "High", "Low", "Open", "Volume"):
        source = "close" if field == "Adj Close" else field.lower()
        for symbol in symbols:
            rows = bars[bars["ticker"] == symbol].set_index("bar_start")[source]
            wide[(field, symbol)] = rows
    frame = pd.DataFrame(wide)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["Price", "Ticker"])
    frame.index = pd.DatetimeIndex(frame.index).tz_localize("America/New_York")
    frame.index.name = "Datetime"
    return frame.sort_index()


class FakeYahoo:
    """Serves the real bars at the interval asked for, up to the present minute (the bar in
    progress included, as Yahoo does); can refuse with Yahoo's rate-limit error first."""

    def __init__(self, real: CsvMarket, refusals: int = 0):
        self.real, self.refusals, self.calls = real, refusals, []

    def __call__(self, symbols, start, end, interval):
        self.calls.append((tuple(symbols), interval, start, end))
        if self.refusals:
            self.refusals -= 1
            from yfinance.exceptions import YFRateLimitError

            raise YFRateLimitError()
        from workshop_dagster.market.csv_replay import _read_intraday

        minutes = {"1m": 1, "5m": 5, "1h": 60}[interval]
        folder = "1m" if minutes == 1 else "5m"
        frames = []
        for symbol in symbols:
            path = self.real.root / "intraday" / folder / f"{symbol}.csv.gz"
            one = _read_intraday(str(path), path.stat().st_mtime, 1 if minutes == 1 else 5, None)
            frames.append(one.assign(ticker=symbol))
        bars = pd.concat(frames, ignore_index=True)
        bars = bars[(bars["bar_start"] >= start) & (bars["bar_start"] < min(end, NOW))]
        if minutes == 60:
            bars = (
                bars.set_index("bar_start")
                .groupby("ticker")
                .resample("60min")
                .agg(
                    {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
                )
                .dropna()
                .reset_index()
            )
        return yfinance_frame(bars[bars["bar_start"] <= NOW], list(symbols))


def _source(tmp_path, fake):
    sleeps = []
    src = YahooMarket(
        tmp_path / "cache",
        fetch_fred=lambda *a: "",
        fetch_news=lambda symbol: [],
        now=lambda: NOW,
        download_intraday=fake,
        sleep=sleeps.append,
    )
    return src, sleeps


def test_intraday_bars_come_at_the_finest_resolution_for_their_age_and_only_complete_ones_are_cached(
    real, tmp_path
):
    fake = FakeYahoo(real)
    src, _ = _source(tmp_path, fake)
    bars = src.intraday_bars(["SPY", "IWM", "VIX"], "2026-03-20", NOW)
    assert {c[1] for c in fake.calls} == {"1m", "5m"}  # nothing older than 60 days asked
    assert all(c[0] == ("SPY", "IWM") for c in fake.calls), "VIX has no intraday history"
    # The last week at 1 minute, earlier sessions at 5; the bar still in progress is not kept.
    last_week = bars[bars["bar_start"] >= "2026-03-27"]
    assert set(last_week["resolution"]) == {"1m"}
    assert set(bars[bars["bar_start"] < "2026-03-26"]["resolution"]) == {"5m"}
    assert bars["bar_end"].max() == pd.Timestamp("2026-04-02 12:17")
    # The same bars as the real files, pre-market and after hours included.
    want = real.intraday_bars(["SPY"], "2026-03-30", "2026-03-31")
    got = bars[(bars["ticker"] == "SPY") & bars["bar_start"].between("2026-03-30", "2026-03-31")]
    cols = ["bar_start", "open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True), want[cols].reset_index(drop=True), check_dtype=False
    )
    # A second ask is served from the cache, with no download.
    before = len(fake.calls)
    again = src.intraday_bars(["SPY", "IWM"], "2026-03-20", NOW)
    assert len(fake.calls) == before and len(again) == len(bars[bars["ticker"] != "VIX"])


def test_yahoos_rate_limit_is_retried_with_backoff_then_fails_clearly(real, tmp_path):
    src, sleeps = _source(tmp_path, FakeYahoo(real, refusals=2))
    assert len(src.intraday_bars(["SPY"], "2026-03-30", NOW)) > 0
    assert sleeps == [2.0, 8.0]  # refused twice, then served
    src, sleeps = _source(tmp_path / "b", FakeYahoo(real, refusals=99))
    with pytest.raises(MarketDataError, match="rate-limiting the intraday download of SPY"):
        src.intraday_bars(["SPY"], "2026-03-30", NOW)
    assert sleeps == [2.0, 8.0, 30.0]
