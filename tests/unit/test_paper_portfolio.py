"""Paper portfolios: positions from published calls, costs, marks, and their figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workshop_dagster.portfolio import benchmarks, performance
from workshop_dagster.portfolio.paper_book import paper_portfolio
from workshop_dagster.portfolio.rules import PortfolioRules, PortfolioRulesError, rules_from_env
from workshop_dagster.predictions.scoring import PriceBook
from workshop_dagster.predictions.standing_calls import StandingCalls

DAYS = pd.bdate_range("2026-03-02", periods=5)  # Monday to Friday
NOW = pd.Timestamp("2026-03-09 12:00")


def close_at(day: int) -> pd.Timestamp:
    return DAYS[day] + pd.Timedelta(hours=16)


def cycle_at(day: int) -> pd.Timestamp:
    return DAYS[day] + pd.Timedelta(hours=19, minutes=15)


def book(closes: dict[str, list[float]]) -> PriceBook:
    rows = [
        {"ticker": t, "bar_ts": close_at(d), "close": px, "series": "daily"}
        for t, series in closes.items()
        for d, px in enumerate(series)
        if px is not None
    ]
    return PriceBook.of(pd.DataFrame(rows))


def call(day: int, ticker=None, direction=None, conf=None, ends=None, relative_to=None) -> dict:
    """A predictions row of source `s` at the evening cycle of `day` (no ticker: an abstention)."""
    return {
        "cycle_key": f"{DAYS[day]:%Y-%m-%d}-19:15",
        "cycle_ts": cycle_at(day),
        "source": "s",
        "parse_status": "parsed" if ticker else "abstained",
        "ticker": ticker,
        "relative_to": relative_to,
        "direction": direction,
        "confidence": conf,
        "horizon_end": close_at(ends) if ends is not None else pd.NaT,
        "price_series": "daily",
    }


def walked(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(StandingCalls().walk(rows))


HAND_PRICES = {
    "SPY": [100, 104, 102, 106, 108],
    "IWM": [50, 50, 52, 52, 52],
    "QQQ": [200, 202, 200, 200, 200],
    "AAPL": [150, 150, 150, 140, None],  # no bar on the last day
    "VIX": [20, 21, 22, 23, 24],
}


def test_a_hand_made_history_matches_the_figures_worked_out_by_hand():
    # A long, a pair, an abstention, a short past the gross cap that the scoring cannot close,
    # and a call on VIX; no interest or borrow here (tested apart), costs at 2 and 5 bp.
    rules = PortfolioRules(gross_cap=0.25, borrow_bps_year=0.0)
    calls = walked(
        [
            call(0, "SPY", "up", 0.7, ends=4),  # w = 0.25 * 0.4 = 0.10
            call(1, "IWM", "up", 0.6, ends=2, relative_to="QQQ"),  # 0.05 long IWM, short QQQ
            call(2),  # abstains
            call(3, "AAPL", "down", 0.9, ends=4),  # 0.2 short, scaled to the room left
            call(4, "VIX", "up", 0.8, ends=4),
        ]
    )
    pp = paper_portfolio(calls, book(HAND_PRICES), rules, NOW)
    pos = pp.positions.set_index("subject")
    eq = pp.marks["equity"].to_numpy()

    # Cycle 0: 10,000 of SPY at 100 (100 shares), 2 bp = 2.00.
    cash = 100_000 - 10_000 - 2.0
    assert pos.loc["SPY", "shares"] == pytest.approx(100)
    assert eq[0] == pytest.approx(cash + 100 * 100)
    # Cycle 1: equity 89,998 + 10,400 = 100,398; 5% of it long IWM at 50, short QQQ at 202.
    e1 = cash + 104 * 100
    leg = 0.05 * e1
    assert pos.loc["IWM vs QQQ", "shares"] == pytest.approx(leg / 50)
    assert pos.loc["IWM vs QQQ", "other_shares"] == pytest.approx(-leg / 202)
    cash -= 2 * leg * 0.0002
    assert eq[1] == pytest.approx(cash + 104 * 100)
    # Cycle 2 (abstains): the pair closes at its horizon's closes, IWM 52 and QQQ 200.
    iwm, qqq = leg / 50 * 52, -leg / 202 * 200
    cash += iwm - abs(iwm) * 0.0002 + qqq - abs(qqq) * 0.0002
    pair_pnl = leg / 50 * 2 + (-leg / 202) * (200 - 202) - 0.0002 * (2 * leg + abs(iwm) + abs(qqq))
    assert pos.loc["IWM vs QQQ", "pnl"] == pytest.approx(pair_pnl)
    assert pos.loc["IWM vs QQQ", "close_reason"] == "horizon"
    assert eq[2] == pytest.approx(cash + 102 * 100)
    # Cycle 3: SPY at 106 fills 10,600 of a 0.25 cap; AAPL's 20% short gets what is left, its
    # 5 bp cost included: scale = (0.25 E - 10,600) / (E (0.2 + 0.25 * 0.2 * 0.0005)).
    e3 = cash + 106 * 100
    scale = (0.25 * e3 - 10_600) / (e3 * (0.2 + 0.25 * 0.2 * 0.0005))
    assert pos.loc["AAPL", "scale"] == pytest.approx(scale)
    assert "scaled to" in pos.loc["AAPL", "reason"]
    short = 0.2 * scale * e3
    assert pos.loc["AAPL", "notional"] == pytest.approx(-short)
    cash += short - short * 0.0005
    assert eq[3] == pytest.approx(cash + 106 * 100 - short)
    assert pp.marks["gross"].iloc[3] == pytest.approx(0.25)
    # Cycle 4: SPY closes at 108; AAPL has no bar at its horizon: closed at the last price known
    # by then (140, its cycle's own price), flagged, not dropped. VIX opens nothing.
    cash += 10_800 - 10_800 * 0.0002
    cash -= short + short * 0.0005  # bought back at the same 140: only its costs were lost
    assert pos.loc["AAPL", "flagged"]
    assert pos.loc["AAPL", "close_reason"] == "last price by the horizon"
    assert pos.loc["AAPL", "exit_price"] == 140
    assert pos.loc["AAPL", "pnl"] == pytest.approx(-2 * short * 0.0005)
    assert pos.loc["SPY", "pnl"] == pytest.approx(800 - 2.0 - 2.16)
    assert pos.loc["VIX", "status"] == "none"
    assert "cannot be bought" in pos.loc["VIX", "reason"]
    assert eq[4] == pytest.approx(cash)
    assert pp.marks["costs"].sum() == pytest.approx(pos["costs"].sum())
    assert eq[4] == pytest.approx(100_000 + pos["pnl"].sum())
    # Cash plus positions is equity at every mark; the abstention is no position at all.
    marks = pp.marks
    assert np.allclose(marks["cash"] + marks["long_value"] - marks["short_value"], marks["equity"])
    assert len(pp.positions) == 4


def test_a_flip_closes_the_standing_call_at_the_flipping_cycles_price_and_opens_the_other_side():
    calls = walked([call(0, "SPY", "up", 0.7, ends=4), call(2, "SPY", "down", 0.7, ends=4)])
    pp = paper_portfolio(calls, book(HAND_PRICES), PortfolioRules(), NOW)
    first, second = pp.positions.iloc[0], pp.positions.iloc[1]
    assert first["close_reason"] == "flip" and first["exit_price"] == 102
    assert first["close_ts"] == cycle_at(2)
    assert second["notional"] < 0 and second["entry_price"] == 102


def test_a_restatement_keeps_the_position_open_and_opens_nothing_new():
    calls = walked([call(0, "SPY", "up", 0.7, ends=4), call(1, "SPY", "up", 0.8, ends=4)])
    assert calls["restates"].iloc[1] == calls["cycle_key"].iloc[0]
    every = walked([call(d) for d in range(5)])[["cycle_key", "cycle_ts"]]
    pp = paper_portfolio(calls, book(HAND_PRICES), PortfolioRules(), NOW, marks_at=every)
    assert len(pp.positions) == 1
    assert pp.marks["open_positions"].tolist() == [1, 1, 1, 1, 0]


def test_a_source_always_wrong_loses_money_after_costs_and_no_calls_is_cash():
    rising = {"SPY": [100 + 2 * d for d in range(5)], "QQQ": [100 + 3 * d for d in range(5)]}
    wrong = walked([call(d, t, "down", 0.75, ends=d + 1) for d, t in ((0, "SPY"), (1, "QQQ"))])
    pp = paper_portfolio(wrong, book(rising), PortfolioRules(), NOW)
    assert pp.marks["equity"].iloc[-1] < 100_000
    assert (pp.positions["pnl"] < 0).all()

    rates = pd.DataFrame({"as_of": [DAYS[0]], "value": [3.6]})
    silent = walked([call(d) for d in range(5)])
    cash = paper_portfolio(silent, book(rising), PortfolioRules(), NOW, rates=rates)
    expected = 100_000 * (1 + 0.036 / 360) ** 4  # four nights at 3.6% actual/360
    assert cash.marks["equity"].iloc[-1] == pytest.approx(expected)
    assert cash.positions.empty and (cash.marks["gross"] == 0).all()
    cycles = silent[["cycle_key", "cycle_ts"]]
    bench = benchmarks.cash_marks(cycles, PortfolioRules(), rates)
    assert np.allclose(bench["equity"], cash.marks["equity"])


def test_a_zero_or_missing_entry_price_opens_nothing_and_says_why():
    bad = {"SPY": [0.0, 104, 102, 106, 108], "QQQ": [None, 1, 1, 1, 1]}
    calls = walked([call(0, "SPY", "up", 0.7, ends=2), call(0, "QQQ", "up", 0.7, ends=2)])
    calls["source"] = ["a", "b"]
    for _, rows in calls.groupby("source"):
        pp = paper_portfolio(rows, book(bad), PortfolioRules(), NOW)
        (reason,) = pp.positions["reason"]
        assert pp.positions["status"].eq("none").all()
        assert "not a price" in reason or "no QQQ price" in reason
        assert (pp.marks["equity"] == 100_000).all()


def random_walk(seed: int, n_days: int = 60) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2026-01-05", periods=n_days)
    rows = []
    for t in ("SPY", "QQQ", "AAPL", "IWM"):
        px = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n_days)))
        rows += [
            {"ticker": t, "bar_ts": d + pd.Timedelta(hours=16), "close": p, "series": "daily"}
            for d, p in zip(days, px, strict=True)
        ]
    return pd.DataFrame(rows), days


def random_calls(days: pd.DatetimeIndex, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, d in enumerate(days[:-3]):
        ticker = rng.choice(["SPY", "QQQ", "AAPL", "IWM", None])
        rows.append(
            {
                "cycle_key": f"{d:%Y-%m-%d}-19:15",
                "cycle_ts": d + pd.Timedelta(hours=19, minutes=15),
                "source": "s",
                "parse_status": "parsed" if ticker else "abstained",
                "ticker": ticker,
                "relative_to": "SPY" if ticker == "IWM" else None,
                "direction": rng.choice(["up", "down"]),
                "confidence": float(rng.uniform(0.5, 0.95)),
                "horizon_end": days[min(i + int(rng.integers(1, 4)), len(days) - 1)]
                + pd.Timedelta(hours=16),
                "price_series": "daily",
            }
        )
    return walked(rows)


def test_prices_after_a_time_change_no_position_opened_and_no_mark_made_by_then():
    closes, days = random_walk(3)
    calls = random_calls(days, 4)
    now = days[-1] + pd.Timedelta(days=1)
    cut = days[30] + pd.Timedelta(hours=19, minutes=15)
    later = closes["bar_ts"] > cut
    moved = closes.copy()
    moved.loc[later, "close"] *= np.random.default_rng(5).uniform(0.5, 1.5, later.sum())
    a = paper_portfolio(calls, PriceBook.of(closes), PortfolioRules(), now)
    b = paper_portfolio(calls, PriceBook.of(moved), PortfolioRules(), now)
    early = a.marks["cycle_ts"] <= cut
    pd.testing.assert_frame_equal(a.marks[early], b.marks[early])
    opened = a.positions["cycle_ts"] <= cut
    cols = ["status", "weight", "scale", "notional", "shares", "other_shares", "entry_price"]
    pos_a, pos_b = a.positions[opened], b.positions[opened]
    closed_early = pos_a["close_ts"] <= cut
    pd.testing.assert_frame_equal(
        pos_a.loc[closed_early, [*cols, "exit_price", "pnl"]],
        pos_b.loc[closed_early, [*cols, "exit_price", "pnl"]],
    )
    assert np.allclose(
        pos_a[cols[1:]].fillna(0).to_numpy(float), pos_b[cols[1:]].fillna(0).to_numpy(float)
    )
    assert not a.marks["equity"].equals(b.marks["equity"])  # the later marks did move


def test_the_figures_are_empyricals_on_the_equity_curve():
    import empyrical as ep

    closes, days = random_walk(8, n_days=80)
    calls = random_calls(days, 9)
    rules = PortfolioRules()
    rates = pd.DataFrame({"as_of": [days[0]], "value": [4.0]})
    pp = paper_portfolio(calls, PriceBook.of(closes), rules, days[-1], rates=rates)
    figures = performance.portfolio_figures(pp.marks, pp.positions, rules.capital)
    daily = performance.daily_returns(pp.marks, rules.capital)
    ret = pd.Series(daily["ret"].to_numpy(), index=pd.DatetimeIndex(daily["date"]))
    rf = pd.Series(daily["rf"].to_numpy(), index=ret.index)
    equity = pp.marks.groupby(pp.marks["cycle_ts"].dt.normalize())["equity"].last()
    assert np.allclose(np.cumprod(1 + ret) * rules.capital, equity.to_numpy())
    assert figures["sharpe"] == pytest.approx(ep.sharpe_ratio(ret, risk_free=rf))
    assert figures["sortino"] == pytest.approx(ep.sortino_ratio(ret, required_return=rf))
    assert figures["max_drawdown_pct"] == pytest.approx(100 * ep.max_drawdown(ret))
    assert figures["max_drawdown_pct"] == pytest.approx(
        100 * (equity / equity.cummax().clip(lower=rules.capital) - 1).min()
    )
    # The bootstrap's point estimate is the difference of the two series' Sharpe ratios.
    spy = benchmarks.buy_and_hold(
        "spy", ["SPY"], pp.marks[["cycle_key", "cycle_ts"]], PriceBook.of(closes), rules, rates
    )
    bench = performance.daily_returns(spy, rules.capital)
    diff, lo, hi = performance.sharpe_difference(daily, bench, block=3)
    rb = pd.Series(bench["ret"].to_numpy(), index=ret.index)
    assert diff == pytest.approx(ep.sharpe_ratio(ret, risk_free=rf) - ep.sharpe_ratio(rb, rf))
    assert lo < diff < hi


def test_buy_and_hold_pays_its_entry_cost_once_and_follows_the_closes():
    rules = PortfolioRules()
    cycles = pd.DataFrame(
        {"cycle_key": [f"k{d}" for d in range(5)], "cycle_ts": [cycle_at(d) for d in range(5)]}
    )
    marks = benchmarks.buy_and_hold("spy", ["SPY"], cycles, book(HAND_PRICES), rules)
    shares = 100_000 / 1.0002 / 100
    assert marks["equity"].tolist() == pytest.approx([shares * p for p in HAND_PRICES["SPY"]])
    assert marks["costs"].sum() == pytest.approx(100_000 - shares * 100)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WORKSHOP_PORTFOLIO_KELLY": "1.5"}, "WORKSHOP_PORTFOLIO_KELLY=1.5 is out of range"),
        ({"WORKSHOP_PORTFOLIO_STOCK_COST_BPS": "-1"}, "WORKSHOP_PORTFOLIO_STOCK_COST_BPS=-1"),
        ({"WORKSHOP_PORTFOLIO_KELLY": "nan"}, "WORKSHOP_PORTFOLIO_KELLY=nan"),
        ({"WORKSHOP_PORTFOLIO_GROSS_CAP": "lots"}, "is not a number"),
        (
            {"WORKSHOP_PORTFOLIO_POSITION_CAP": "0.5", "WORKSHOP_PORTFOLIO_GROSS_CAP": "0.3"},
            "one leg cannot be larger than the whole book",
        ),
        ({"WORKSHOP_PORTFOLIO_BENCHMARK": "VIX"}, "is not a traded instrument"),
    ],
)
def test_absurd_settings_are_refused_naming_the_setting_and_its_range(env, named):
    with pytest.raises(PortfolioRulesError, match=named):
        rules_from_env(env)


def test_sizing_is_fractional_kelly_capped_and_costs_are_by_instrument_kind():
    rules = PortfolioRules()
    assert rules.weight(0.6) == pytest.approx(0.05)
    assert rules.weight(0.95) == pytest.approx(0.2)  # capped
    assert rules.weight(0.4) == 0.0 and rules.weight(float("nan")) == 0.0
    assert (rules.cost_bps("SPY"), rules.cost_bps("XLE"), rules.cost_bps("AAPL")) == (2, 3, 5)
    assert rules.cost_bps("VIX") is None
    assert rules.without_costs().cost_bps("AAPL") == 0.0


def test_a_book_that_prices_push_over_the_gross_cap_is_trimmed_back_to_it():
    rules = PortfolioRules(position_cap=0.2, gross_cap=0.2)
    doubling = {"SPY": [100, 200, 200, 200, 200]}
    calls = walked([call(0, "SPY", "up", 0.95, ends=3)])
    every = walked([call(d) for d in range(5)])[["cycle_key", "cycle_ts"]]
    pp = paper_portfolio(calls, book(doubling), rules, NOW, marks_at=every)
    gross = pp.marks["gross"].to_numpy()
    assert gross[:3] == pytest.approx([0.2, 0.2, 0.2])  # trimmed at cycle 1, not above after
    # Cycle 0: 20% of equity, less what its own cost takes of the room under the 0.2 cap.
    bought = 0.2 * 100_000 * 0.2 / (0.2 + 0.2 * 0.2 * 0.0002)
    cash = 100_000 - bought * 1.0002
    # Cycle 1: its value doubled: sold back to 20% of equity, the sale's 2 bp included.
    held = 2 * bought
    fee_all = held * 0.0002
    keep = 0.2 * (cash + held - fee_all) / (held - 0.2 * fee_all)
    assert pp.marks["traded"].iloc[1] == pytest.approx(held * (1 - keep))
    assert pp.marks["costs"].iloc[1] == pytest.approx(held * (1 - keep) * 0.0002)
    closes, days = random_walk(11)
    wild = paper_portfolio(random_calls(days, 12), PriceBook.of(closes), rules, days[-1])
    assert (wild.marks["gross"] <= 0.2 + 1e-9).all()


def test_a_post_says_what_its_call_opened_what_it_made_or_why_nothing():
    from workshop_dagster.portfolio.position_words import position_words

    rules = PortfolioRules(gross_cap=0.25, borrow_bps_year=0.0)
    calls = walked(
        [
            call(0, "SPY", "up", 0.7, ends=4),
            call(1, "IWM", "up", 0.6, ends=2, relative_to="QQQ"),
            call(2, "SPY", "up", 0.8, ends=4),  # restates the first
            call(4, "VIX", "up", 0.8, ends=4),
        ]
    )
    rows = {
        r["subject"]: r
        for r in paper_portfolio(calls, book(HAND_PRICES), rules, NOW).positions.to_dict("records")
    }
    spy = position_words(rows["SPY"])
    assert spy.startswith("Position: long SPY, 10.0% of equity a leg, at 100.00 (2026-03-02 19:15)")
    assert "closed at its horizon at 108.00 (2026-03-06 16:15): +$795.84" in spy
    pair = position_words(rows["IWM vs QQQ"])
    assert "long IWM, short QQQ" in pair and "at 50.00 and 202.00" in pair
    assert position_words(rows["VIX"]).startswith("No position: VIX cannot be bought")
    again = position_words(rows["SPY"], calls["restates"].iloc[2])
    assert again == (
        "Position: this restates the call of 2026-03-02 19:15; its position stays as it was."
    )


def test_a_sizing_of_nothing_opens_nothing_and_says_it_was_the_setting():
    calls = walked([call(0, "SPY", "up", 0.7, ends=4)])
    for rules in (PortfolioRules(kelly_fraction=0.0), PortfolioRules(position_cap=0.0)):
        pp = paper_portfolio(calls, book(HAND_PRICES), rules, NOW)
        assert pp.positions["reason"].iloc[0].startswith("the sizing is set to nothing")
    closed = PortfolioRules(gross_cap=0.0, position_cap=0.0)
    full = paper_portfolio(calls, book(HAND_PRICES), closed, NOW)
    assert full.positions["reason"].iloc[0].startswith("the sizing is set to nothing")


def test_a_ruined_book_closes_everything_opens_nothing_more_and_says_so():
    gap = {"SPY": [100, 1000, 1000, 1000, 1000], "QQQ": [100] * 5}
    calls = walked([call(0, "SPY", "down", 0.95, ends=4), call(1, "QQQ", "up", 0.7, ends=3)])
    bold = PortfolioRules(kelly_fraction=1.0, position_cap=1.0)
    pp = paper_portfolio(calls, book(gap), bold, NOW)
    spy, qqq = pp.positions.iloc[0], pp.positions.iloc[1]
    assert spy["close_reason"] == "ruin" and spy["pnl"] < -100_000
    assert qqq["status"] == "none" and "equity was gone" in qqq["reason"]
    assert pp.marks["equity"].iloc[-1] < 0  # the gross-cap check blocks the site on it
