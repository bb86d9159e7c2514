import numpy as np
import pandas as pd

from workshop_dagster.market.simulator import MarketSimulation, SimulatedMarket
from workshop_dagster.market.universe import TICKERS


def _returns(sim: MarketSimulation, ticker: str) -> pd.Series:
    bars = sim.bars[sim.bars["ticker"] == ticker].set_index("session_date")["close"]
    return np.log(bars).diff().dropna()


def test_same_cycle_same_bars_whatever_the_horizon_or_order():
    short = MarketSimulation(seed=11, last_year=2024)
    long = MarketSimulation(seed=11, last_year=2026)
    overlap = short.bars
    later = long.bars[long.bars["session_date"] <= overlap["session_date"].max()]
    pd.testing.assert_frame_equal(overlap.reset_index(drop=True), later.reset_index(drop=True))
    # Asking for a late window first and an early one second gives what a fresh source gives.
    a, b = SimulatedMarket(11), SimulatedMarket(11)
    a.daily_bars(TICKERS, "2026-03-01", "2026-03-31")
    early_after = a.daily_bars(TICKERS, "2024-05-01", "2024-05-31")
    early_fresh = b.daily_bars(TICKERS, "2024-05-01", "2024-05-31")
    pd.testing.assert_frame_equal(early_after, early_fresh)


def test_seed_changes_the_market():
    a = SimulatedMarket(1).daily_bars(["SPY"], "2025-01-01", "2025-03-01")
    b = SimulatedMarket(2).daily_bars(["SPY"], "2025-01-01", "2025-03-01")
    assert not np.allclose(a["close"], b["close"])


def test_every_ticker_every_session_valid_bars():
    sim = MarketSimulation(seed=7, last_year=2025)
    bars = sim.bars
    assert set(bars["ticker"]) == set(TICKERS)
    assert bars.groupby("ticker").size().nunique() == 1
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1) - 1e-9).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1) + 1e-9).all()


def test_regimes_switch_and_shape_the_market():
    sim = MarketSimulation(seed=7, last_year=2026)
    regimes = sim.regimes
    assert set(regimes.unique()) == {"risk_on", "transition", "risk_off"}
    assert (regimes != regimes.shift()).sum() > 10, "regimes should switch many times"
    spy = _returns(sim, "SPY")
    reg = regimes.reindex(spy.index)
    assert spy[reg == "risk_off"].std() > 1.8 * spy[reg == "risk_on"].std()
    # Fat tails: excess kurtosis well above a normal's 0.
    assert spy[reg == "risk_on"].kurt() > 1.0
    # Correlations rise in risk-off.
    iwm, tlt, aapl = _returns(sim, "IWM"), _returns(sim, "TLT"), _returns(sim, "AAPL")
    on, off = reg == "risk_on", reg == "risk_off"
    assert spy[off].corr(aapl[off]) > spy[on].corr(aapl[on])
    assert abs(iwm.corr(tlt)) < 0.9


def test_rates_are_consistent_and_rounded_like_fred():
    rates = MarketSimulation(seed=7, last_year=2025).rates.pivot(
        index="obs_date", columns="code", values="value"
    )
    assert ((rates["DGS10"] - rates["DGS2"] - rates["T10Y2Y"]).abs() <= 0.011).all()
    assert (rates["DFF"] > 0).all()
    assert (rates.round(2) == rates).all().all()
    assert rates["DFF"].nunique() > 1, "the simulated Fed should move at least once"


def test_the_intraday_path_aggregates_to_the_daily_bars_and_does_not_depend_on_the_window():
    import pandas as pd

    from workshop_dagster.market.simulator import SimulatedMarket
    from workshop_dagster.market.universe import TICKERS

    sim = SimulatedMarket(7)
    bars = sim.intraday_bars(TICKERS, "2026-03-16", "2026-03-27 23:59")
    assert "VIX" not in set(bars["ticker"]) and set(bars["resolution"]) == {"5m"}
    assert (bars["bar_end"] - bars["bar_start"] == pd.Timedelta(minutes=5)).all()
    times = bars["bar_start"].dt.strftime("%H:%M")
    assert times.min() == "04:00" and times.max() == "19:55"  # pre-market to after hours
    regular = bars[(times >= "09:30") & (times < "16:00")].assign(
        session_date=lambda f: f["bar_start"].dt.normalize()
    )
    agg = regular.groupby(["ticker", "session_date"]).agg(
        open=("open", "first"), high=("high", "max"), low=("low", "min"), close=("close", "last")
    )
    daily = sim.daily_bars(TICKERS, "2026-03-16", "2026-03-27").set_index(
        ["ticker", "session_date"]
    )
    joined = agg.join(daily, rsuffix="_daily", how="inner")
    assert len(joined) == 16 * 10  # every ticker but VIX, ten sessions
    for col in ("open", "high", "low", "close"):
        assert (joined[col] == joined[f"{col}_daily"]).all(), col
    # A session's bars are the same whichever window asked for them.
    alone = sim.intraday_bars(["SPY"], "2026-03-20", "2026-03-20 23:59")
    same = bars[(bars["ticker"] == "SPY") & (bars["bar_start"].dt.normalize() == "2026-03-20")]
    pd.testing.assert_frame_equal(alone.reset_index(drop=True), same.reset_index(drop=True))
    # In ticker and time order, whatever order the tickers were asked in; aware times refused.
    mixed = sim.intraday_bars(["TSLA", "AAPL", "SPY", "AAPL"], "2026-03-19", "2026-03-20 23:59")
    assert list(mixed["ticker"].unique()) == ["AAPL", "SPY", "TSLA"]
    assert mixed.equals(mixed.sort_values(["ticker", "bar_start"]).reset_index(drop=True))
    import pytest

    from workshop_dagster.market.sim_intraday import intraday_bars

    daily = sim.daily_bars(["SPY"], "2026-03-10", "2026-03-20")
    with pytest.raises(ValueError, match="naive New York times"):
        intraday_bars(daily, 7, ["SPY"], pd.Timestamp("2026-03-20", tz="UTC"), "2026-03-21")
