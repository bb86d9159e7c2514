"""What a source's paper portfolio is measured against, on the same days and the same capital.

- `cash`: the capital at the fed funds rate each cycle knew;
- `buy_and_hold` of the benchmark (SPY), and of the subjects the source called (equal weight,
  every ticker it ever called, bought at the first mark: a universe benchmark, chosen after
  the fact as benchmarks are, never used to size a call), charged the entry cost once and
  marked from the daily closes (dividend-adjusted: a total return);
- `always_up` and `momentum` at the same sizing on the same calls: the source's calls with
  their direction replaced by the baseline's (predictions/baselines.py), at the probability the
  source published, through the same paper book.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictions.scoring import PriceBook, lookup_prices
from ..predictions.standing_calls import StandingCalls
from .paper_book import DAY_COUNT, MARK_COLUMNS, _rate_at
from .rules import PortfolioRules


def cash_marks(marks_at: pd.DataFrame, rules: PortfolioRules, rates: pd.DataFrame | None):
    """The capital in cash, accruing the rate known at each mark until the next."""
    ts = pd.to_datetime(marks_at["cycle_ts"]).to_numpy(dtype="datetime64[ns]")
    rate = _rate_at(rates, ts)
    days = np.diff(ts) / np.timedelta64(1, "D") if len(ts) else np.array([])
    growth = np.concatenate([[1.0], 1.0 + rate[:-1] / 100.0 * days / DAY_COUNT])
    equity = rules.capital * np.cumprod(growth)
    return _marks(marks_at, "cash", equity, equity, 0.0, rate)


def buy_and_hold(
    name: str,
    tickers: list[str],
    marks_at: pd.DataFrame,
    prices: PriceBook,
    rules: PortfolioRules,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Equal weights of `tickers` bought at the first mark their daily closes price (each
    ticker's cost paid once), held and marked at every cycle; idle capital in cash."""
    ts = pd.to_datetime(marks_at["cycle_ts"]).to_numpy(dtype="datetime64[ns]")
    tradable = [t for t in dict.fromkeys(tickers) if rules.cost_bps(t) is not None]
    rate = _rate_at(rates, ts)
    if not len(ts) or not tradable:
        return cash_marks(marks_at, rules, rates).assign(source=name)
    px = {
        t: lookup_prices(
            prices.daily, np.full(len(ts), t, dtype=object), ts, np.ones(len(ts), dtype=bool)
        )[0]
        for t in tradable
    }
    start = max(int(np.argmax(np.isfinite(p))) for p in px.values())
    each = rules.capital / len(tradable)
    shares = {t: each / (1 + rules.cost_bps(t) / 1e4) / px[t][start] for t in tradable}
    held = sum(shares[t] * np.nan_to_num(px[t]) for t in tradable)
    paid = rules.capital - sum(shares[t] * px[t][start] for t in tradable)
    # Before the first mark every ticker prices, the capital waits in cash.
    cash = cash_marks(marks_at, rules, rates)["equity"].to_numpy()
    equity = np.where(np.arange(len(ts)) < start, cash, held)
    out = _marks(marks_at, name, equity, np.where(np.arange(len(ts)) < start, cash, 0.0), 1, rate)
    out.loc[start, ["traded", "costs"]] = [rules.capital - paid, paid]
    out["gross"] = np.where(np.arange(len(ts)) < start, 0.0, 1.0)
    out["long_value"] = np.where(np.arange(len(ts)) < start, 0.0, held)
    return out


def baseline_calls(calls: pd.DataFrame, directions: pd.Series, name: str) -> pd.DataFrame:
    """The source's calls with another direction (a baseline's), at the probability the source
    published, re-walked through the standing rule (a baseline restates and flips by its own
    directions)."""
    parsed = calls[(calls["parse_status"] == "parsed") & calls["direction"].isin(["up", "down"])]
    frame = parsed.assign(direction=directions.loc[parsed.index], source=name)
    frame = frame.drop(columns=[c for c in ("restates", "replaces") if c in frame])
    rows = StandingCalls().walk(frame.to_dict("records"))
    return pd.DataFrame(rows, columns=[*frame.columns, "restates", "replaces"])


def _marks(marks_at, name, equity, cash, gross, rate) -> pd.DataFrame:
    n = len(marks_at)
    out = pd.DataFrame(
        {
            "source": name,
            "cycle_key": marks_at["cycle_key"].to_numpy(),
            "cycle_ts": pd.to_datetime(marks_at["cycle_ts"]).to_numpy(dtype="datetime64[ns]"),
            "cash": cash,
            "long_value": np.zeros(n),
            "short_value": np.zeros(n),
            "equity": equity,
            "gross": np.full(n, float(gross)),
            "open_positions": np.zeros(n, dtype=int),
            "traded": np.zeros(n),
            "costs": np.zeros(n),
            "interest": np.zeros(n),
            "borrow": np.zeros(n),
            "rate_pct": rate,
        }
    )
    return out[MARK_COLUMNS]
