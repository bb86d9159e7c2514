"""The market data gate: each kind of wrong bar is named, with its ticker, session and origin."""

import pandas as pd
import pytest

from workshop_dagster.market.csv_replay import CsvMarket
from workshop_dagster.market.errors import MarketDataError
from workshop_dagster.market.quality import BadMarketData, bar_problems, gated
from workshop_dagster.market.simulator import SimulatedMarket

SESSIONS = pd.to_datetime(["2026-03-25", "2026-03-26", "2026-03-27", "2026-03-30"])


def _bars(**changes) -> pd.DataFrame:
    """Clean bars of SPY and QQQ over four sessions; `changes` edits QQQ's row of 2026-03-27."""
    rows = []
    for ticker, base in (("SPY", 600.0), ("QQQ", 500.0)):
        for i, day in enumerate(SESSIONS):
            close = base + i
            rows.append(
                {
                    "ticker": ticker,
                    "session_date": day,
                    "open": close - 1,
                    "high": close + 2,
                    "low": close - 2,
                    "close": close,
                    "volume": 1000,
                    "origin": f"daily/{ticker}.csv line {i + 2}",
                }
            )
    frame = pd.DataFrame(rows).astype({"open": object, "close": object, "high": object})
    at = (frame["ticker"] == "QQQ") & (frame["session_date"] == "2026-03-27")
    for col, value in changes.items():
        frame.loc[at, col] = value
    return frame


def test_clean_bars_pass():
    assert bar_problems(_bars()) == []


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"close": -502.0}, "close is not positive"),
        ({"close": float("nan")}, "close is missing or not a number"),
        ({"close": "5o2"}, "close is missing or not a number (5o2)"),
        ({"open": float("inf")}, "open is not finite"),
        ({"high": 490.0}, "high 490.0 is below max(open, close)"),
        ({"low": 510.0}, "low 510.0 is above min(open, close)"),
        ({"close": 900.0, "high": 901.0}, "close moved 79.6% in one session"),
    ],
)
def test_each_wrong_bar_is_named_with_its_ticker_session_and_origin(change, says):
    problems = bar_problems(_bars(**change))
    assert problems, f"{change} passed the gate"
    first = problems[0]
    assert (first.ticker, first.session, first.origin) == (
        "QQQ",
        "2026-03-27",
        "daily/QQQ.csv line 4",
    )
    assert any(says in p.problem for p in problems), [str(p) for p in problems]


def test_a_duplicated_session_is_an_error():
    bars = _bars()
    bars = pd.concat([bars, bars.iloc[[5]]], ignore_index=True)
    problems = bar_problems(bars)
    assert {(p.ticker, p.session, p.problem) for p in problems} == {
        ("QQQ", "2026-03-26", "more than one bar for this session")
    }


def test_a_missing_session_and_a_stale_ticker_are_errors():
    bars = _bars()
    gap = bars[~((bars["ticker"] == "QQQ") & (bars["session_date"] == "2026-03-26"))]
    assert [str(p) for p in bar_problems(gap)] == [
        "QQQ 2026-03-26: no bar for this trading session"
    ]
    stale = bars[~((bars["ticker"] == "SPY") & (bars["session_date"] == "2026-03-30"))]
    (problem,) = bar_problems(stale)
    assert problem.ticker == "SPY" and "1 session behind its peers' (2026-03-30)" in problem.problem


def test_the_simulator_passes_the_gate_over_years():
    bars = SimulatedMarket(7).daily_bars(["SPY", "QQQ", "TSLA", "VIX"], "2020-01-02", "2026-08-21")
    assert bar_problems(bars) == []


def test_the_real_history_passes_the_gate(shared_market):
    source = CsvMarket(shared_market)
    from workshop_dagster.market.universe import TICKERS

    bars = source.daily_bars(TICKERS, "2015-01-02", "2026-08-21")
    assert bar_problems(bars) == []


def _write(root, ticker: str, text: str) -> None:
    (root / "daily").mkdir(parents=True, exist_ok=True)
    (root / "daily" / f"{ticker}.csv").write_text(text)


HEADER = "date,open,high,low,close,volume\n"
ROWS = [
    "2026-03-26,100,102,99,101,10",
    "2026-03-27,101,103,100,102,10",
    "2026-03-30,102,104,101,103,10",
]


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        (ROWS[:2] + ["2026-03-30,102,104,10"], "line 4"),  # cut mid-row
        (ROWS[:2] + ["2026-03-30,102,104,101,-103,10"], "close is not positive"),
        (ROWS + [ROWS[2]], "more than one bar for this session"),
    ],
)
def test_csv_rows_are_reported_by_file_and_line(tmp_path, rows, says):
    _write(tmp_path, "QQQ", HEADER + "\n".join(rows) + "\n")
    with pytest.raises(BadMarketData) as err:
        gated(CsvMarket(tmp_path)).daily_bars(["QQQ"], "2026-03-20", "2026-03-31")
    text = str(err.value)
    assert f"{tmp_path / 'daily' / 'QQQ.csv'} line" in text and says in text
    assert not err.value.transient


def test_a_garbage_row_fails_at_once_naming_the_file(tmp_path):
    _write(tmp_path, "QQQ", HEADER + ROWS[0] + "\n<html>,x,y,z,1,2,3,4\n" + ROWS[1] + "\n")
    with pytest.raises(MarketDataError) as err:
        gated(CsvMarket(tmp_path)).daily_bars(["QQQ"], "2026-03-20", "2026-03-31")
    assert "QQQ.csv" in str(err.value) and "line 3" in str(err.value)
    assert not err.value.transient


def test_a_bad_date_is_reported_by_line(tmp_path):
    _write(tmp_path, "QQQ", HEADER + ROWS[0] + "\n2026-13-45,1,2,1,1,1\n")
    with pytest.raises(MarketDataError, match=r"QQQ.csv: date is not a YYYY-MM-DD date on line 3"):
        CsvMarket(tmp_path).daily_bars(["QQQ"], "2026-03-20", "2026-03-31")


def test_a_corrupt_rate_row_is_reported_by_line(tmp_path):
    _write(tmp_path, "QQQ", HEADER + ROWS[0] + "\n")
    (tmp_path / "rates").mkdir()
    (tmp_path / "rates" / "DGS10.csv").write_text(
        "observation_date,DGS10\n2026-03-26,4.1\n2026-03-27,.\n2026-03-30,x4\n"
    )
    with pytest.raises(MarketDataError, match=r"DGS10.csv: dgs10 is not a number on line 4"):
        CsvMarket(tmp_path).rate_observations(["DGS10"], "2026-03-20", "2026-03-31")
