"""The as-of rule for intraday bars, on the real bars: visible from its end, nothing later."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workshop_dagster.market.asof import daily_view, quotes_as_of
from workshop_dagster.market.csv_replay import intraday_bars
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.quotes import market_quotes
from workshop_dagster.market.sources import open_source

TICKERS = ["SPY", "IWM", "DIA"]


@pytest.fixture(scope="module")
def real(request):
    from tests.conftest import SHARED_MARKET, shared_path

    root = shared_path(SHARED_MARKET)
    return open_source(f"csv:{root}"), root


def _quotes(source, root, cycles, previous, bars=None):
    daily, _ = daily_view(source, cycles, TICKERS)
    if bars is None:
        bars = intraday_bars(root, TICKERS, "2024-01-01", max(cycles))
    return market_quotes(bars, daily, cycles, previous, TICKERS)


def test_a_bar_that_ends_after_the_cycle_is_not_seen(real):
    source, root = real
    cycle = pd.Timestamp("2024-03-05 12:12")  # 5-minute bars only in March 2024
    q = _quotes(source, root, [cycle], [pd.NaT]).set_index("ticker")
    bars = intraday_bars(root, ["SPY"], "2024-03-05", "2024-03-06")
    seen = bars[bars["bar_end"] <= cycle].iloc[-1]
    assert str(seen["bar_start"]) == "2024-03-05 12:05:00"  # 12:10-12:15 ends after 12:12
    assert q.loc["SPY", "last"] == seen["close"]
    assert q.loc["SPY", "quote_ts"] == seen["bar_end"]


def test_changing_every_bar_after_the_cycle_changes_nothing_it_saw(real):
    source, root = real
    cycles = [pd.Timestamp("2026-04-02 12:15"), pd.Timestamp("2024-06-12 09:15")]
    previous = [pd.Timestamp("2026-04-02 09:15"), pd.Timestamp("2024-06-11 19:15")]
    bars = intraday_bars(root, TICKERS, "2024-01-01", "2026-05-01")
    before = _quotes(source, root, cycles, previous, bars)
    for cycle in cycles:
        later = bars["bar_end"] > cycle
        shaken = bars.copy()
        for col in ("open", "high", "low", "close"):
            shaken.loc[later, col] = shaken.loc[later, col] * np.random.default_rng(1).uniform(
                0.5, 1.5, later.sum()
            )
        after = _quotes(source, root, cycles, previous, shaken)
        mine = before["cycle_ts"] == cycle
        pd.testing.assert_frame_equal(before[mine], after[mine])


def test_no_return_crosses_the_daily_and_intraday_series(real):
    """Early 2024 the intraday bars (not dividend-adjusted) sit ~2.7% above the daily ones."""
    source, root = real
    cycle = pd.Timestamp("2024-01-10 16:30")
    q = _quotes(source, root, [cycle], [pd.NaT]).set_index("ticker")
    daily = source.daily_bars(["SPY"], "2024-01-01", "2024-01-10").set_index("session_date")
    close = daily["close"]
    daily_5d = 100 * (close.loc["2024-01-10"] / close.loc["2024-01-03"] - 1)
    crossed = 100 * (q.loc["SPY", "last"] / close.loc["2024-01-03"] - 1)
    assert abs(crossed - daily_5d) > 2, "the two series differ by the dividends"
    assert q.loc["SPY", "change_5d_pct"] == pytest.approx(daily_5d, abs=0.05)
    daily_1d = 100 * (close.loc["2024-01-10"] / close.loc["2024-01-09"] - 1)
    assert q.loc["SPY", "session_move_pct"] == pytest.approx(daily_1d, abs=0.05)


def test_a_ticker_without_intraday_bars_is_quoted_at_its_close_and_marked_stale(real):
    source, root = real
    cycle = pd.Timestamp("2026-04-02 12:15")
    q = _quotes(source, root, [cycle], [pd.NaT]).set_index("ticker")
    assert q.loc["DIA", "quote_source"] == "daily close" and q.loc["DIA", "stale"]
    assert str(q.loc["DIA", "quote_ts"]) == "2026-04-01 16:00:00"
    assert np.isnan(q.loc["DIA", "session_move_pct"])
    # Past the end of the intraday history (2026-08-10) every ticker falls back the same way.
    late = _quotes(source, root, [pd.Timestamp("2026-08-20 12:15")], [pd.NaT])
    assert (late["quote_source"] == "daily close").all() and late["stale"].all()
    # With intraday quotes off, every quote is a close, none of them stale.
    daily, _ = daily_view(source, [cycle], TICKERS)
    plain = quotes_as_of(source, daily, [cycle], [None], TICKERS, intraday=False)
    assert (plain["quote_source"] == "daily close").all() and not plain["stale"].any()


@pytest.mark.parametrize(
    "row,message",
    [
        (
            "2026-04-02T10:50:00-04:00,1.0,abc,1.0,1.0,100",
            "high is not a positive number on line 3",
        ),
        (
            "2026-04-02T10:50:00-04:00,1.0,1.0,1.0,-2,100",
            "close is not a positive number on line 3",
        ),
        ("yesterday,1.0,1.0,1.0,1.0,100", "timestamp is not an ISO 8601 time"),
        ("2026-04-02T10:45:00-04:00,1.0,1.0,1.0,1.0,100", "repeat or go back in time on line 3"),
    ],
)
def test_a_corrupt_intraday_file_names_its_line(tmp_path, row, message):
    folder = tmp_path / "intraday" / "5m"
    folder.mkdir(parents=True)
    header = "timestamp,open,high,low,close,volume\n2026-04-02T10:45:00-04:00,1,1,1,1,5\n"
    (folder / "SPY.csv").write_text(header + row + "\n")
    import gzip

    (folder / "SPY.csv.gz").write_bytes(gzip.compress((folder / "SPY.csv").read_bytes()))
    with pytest.raises(MarketDataError, match=message):
        intraday_bars(Path(tmp_path), ["SPY"], "2026-04-01", "2026-04-03")


def test_a_call_is_scored_from_the_price_its_cycle_saw(real):
    from workshop_dagster.market.asof import scoring_prices
    from workshop_dagster.predictions.scoring import score_calls
    from workshop_dagster.predictions.tags import parse_tag

    source, root = real
    cycle = pd.Timestamp("2026-04-02 12:15")
    quote = _quotes(source, root, [cycle], [pd.NaT]).set_index("ticker").loc["SPY"]
    calls = []
    for timeframe in ("4h", "24h"):
        tag = f"[DIRECTION: up (SPY)] [TIMEFRAME: {timeframe}] [CONFIDENCE: 0.6]"
        row = parse_tag(tag, cycle).as_row()
        calls.append({**row, "cycle_ts": cycle, "price_series": "intraday"})
    late = pd.Timestamp("2026-08-20 12:15")  # after the intraday history (2026-08-10)
    row = parse_tag("[DIRECTION: up (SPY)] [TIMEFRAME: 24h] [CONFIDENCE: 0.6]", late).as_row()
    calls.append({**row, "cycle_ts": late, "price_series": "intraday"})
    prices = scoring_prices(source, ["SPY"], "2026-03-20", "2026-08-25")
    scored = score_calls(pd.DataFrame(calls), prices, now=pd.Timestamp("2026-09-01"))
    four, day, after = scored.to_dict("records")
    # Entry: the quote the cycle saw. "4h" from 12:15 ends at 16:00 that day; "24h" at the next
    # session's close (Good Friday, 2026-04-03, is skipped).
    assert four["entry_price"] == day["entry_price"] == quote["last"]
    assert str(four["exit_ts"]) == "2026-04-02 16:00:00" and four["scored_on"] == "intraday"
    assert str(day["exit_ts"]) == "2026-04-06 16:00:00" and day["scored_on"] == "intraday"
    # Past the intraday history: the series that made it cannot close it, so it is not scored
    # (never one close of each series, nor daily closes every cycle of the day shares).
    assert after["status"] == "unscorable" and after["scored_on"] is None
    assert (
        after["reason"] == "no SPY bar at the horizon close 2026-08-21 16:00 in the intraday series"
    )


def test_an_intraday_bar_whose_high_does_not_bound_its_close_is_refused(tmp_path):
    import gzip

    from workshop_dagster.market.csv_replay import CsvMarket
    from workshop_dagster.market.quality import gated

    (tmp_path / "daily").mkdir()
    folder = tmp_path / "intraday" / "5m"
    folder.mkdir(parents=True)
    rows = "timestamp,open,high,low,close,volume\n2026-04-02T10:45:00-04:00,10,10.5,9.9,10.4,5\n"
    rows += "2026-04-02T10:50:00-04:00,10.4,10.5,10.3,11.0,5\n"  # close above the high
    (folder / "SPY.csv.gz").write_bytes(gzip.compress(rows.encode()))
    with pytest.raises(MarketDataError, match="high/low do not bound open and close") as err:
        gated(CsvMarket(tmp_path)).intraday_bars(["SPY"], "2026-04-01", "2026-04-03")
    assert "SPY 2026-04-02 10:50" in str(err.value) and "SPY.csv.gz line 3" in str(err.value)


def test_one_bar_at_ten_times_the_price_is_refused_naming_file_line_and_ticker(tmp_path):
    import gzip

    from workshop_dagster.market.csv_replay import CsvMarket
    from workshop_dagster.market.quality import BadMarketData, gated

    (tmp_path / "daily").mkdir()
    folder = tmp_path / "intraday" / "5m"
    folder.mkdir(parents=True)
    minutes = pd.date_range("2026-04-02 09:30", "2026-04-02 11:00", freq="5min")
    rows = ["timestamp,open,high,low,close,volume"]
    for t in minutes:
        price = 4120.0 if t == pd.Timestamp("2026-04-02 10:50") else 412.0
        rows.append(
            f"{t:%Y-%m-%dT%H:%M:%S}-04:00,{price},{price * 1.001},{price * 0.999},{price},5"
        )
    path = folder / "QQQ.csv.gz"
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    with pytest.raises(BadMarketData) as err:
        gated(CsvMarket(tmp_path)).intraday_bars(["QQQ"], "2026-04-01", "2026-04-03")
    text = str(err.value)
    assert "QQQ 2026-04-02 10:50" in text and f"{path} line 18" in text
    assert "moved 900.0% from the previous bar" in text and "±15% a bar" in text
    assert "away from the session's median" in text
    assert not err.value.transient


def test_the_real_intraday_bars_of_2024_to_2026_pass_the_move_bounds(shared_market):
    from workshop_dagster.market.quality import intraday_bar_problems

    # The index ETFs of the largest bar moves (QQQ, IWM) and the mega caps of the largest
    # (GOOGL, META after hours on earnings; TSLA's session): 5.8% and 11.8% at most.
    tickers = ["QQQ", "IWM", "GOOGL", "META", "TSLA"]
    bars = intraday_bars(shared_market, tickers, "2024-01-01", "2026-12-31")
    assert bars["ticker"].nunique() == 5 and len(bars) > 500_000
    assert intraday_bar_problems(bars) == []


def test_a_quote_from_a_bar_long_before_the_cycle_is_stale(real):
    source, root = real
    cycles = [pd.Timestamp("2026-04-02 11:45"), pd.Timestamp("2026-04-02 19:15")]
    bars = intraday_bars(root, TICKERS, "2026-03-20", "2026-04-03")
    fresh = _quotes(source, root, cycles, [pd.NaT, pd.NaT], bars).set_index(["cycle_ts", "ticker"])
    assert not fresh.loc[(cycles[0], "SPY"), "stale"] and not fresh.loc[(cycles[1], "SPY"), "stale"]
    # SPY's bars from 10:00 on 2026-04-02 lost: at 11:45 its last trade is 1 h 45 min old.
    gap = (bars["ticker"] == "SPY") & (bars["bar_start"] >= pd.Timestamp("2026-04-02 10:00"))
    q = _quotes(source, root, cycles, [pd.NaT, pd.NaT], bars[~gap]).set_index(
        ["cycle_ts", "ticker"]
    )
    spy = q.loc[(cycles[0], "SPY")]
    assert str(spy["quote_ts"]) == "2026-04-02 10:00:00" and bool(spy["stale"])
    assert spy["quote_source"] != "daily close"
    assert not q.loc[(cycles[0], "IWM"), "stale"]
