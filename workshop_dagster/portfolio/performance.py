"""A paper portfolio's figures: returns, risk, drawdowns, and whether it beat its benchmarks.

Sharpe, Sortino, drawdown, Calmar, alpha and beta come from `empyrical` (empyrical-reloaded,
the maintained fork of Quantopian's library): one library's definitions, pinned by the tests,
never a hand-written variant. Daily returns are taken from each session's last mark (the
evening cycle's equity), over the fed funds rate the cycle knew.

The Sharpe difference against a benchmark has a moving-block bootstrap interval (the
evaluation's, predictions/bootstrap.py: days resampled in blocks, seeded); with several sources
or variants, the probabilistic Sharpe ratio (Bailey & López de Prado, 2012) and its deflated form
say how likely the best Sharpe is above zero once the number of tries is counted.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..predictions.bootstrap import block_draws, interval

TRADING_DAYS = 252
# Fewer sessions than this give no annual figure (return, volatility, Sharpe, Sortino, Calmar)
# and no Sharpe difference: eight days annualised read as +9% a year and a Sharpe of 6.
MIN_SESSIONS = 20
EULER_GAMMA = 0.5772156649015329


def daily_returns(marks: pd.DataFrame, capital: float) -> pd.DataFrame:
    """(date, ret, rf) per session: the return of the equity at the session's last mark over
    the previous one (the first over the starting capital), and the day's risk-free return
    (the fed funds rate known then, actual/360)."""
    if marks.empty:
        return pd.DataFrame({"date": [], "ret": [], "rf": []})
    ts = pd.to_datetime(marks["cycle_ts"])
    last = marks.assign(date=ts.dt.normalize()).groupby("date", sort=True).tail(1)
    equity = last["equity"].to_numpy(dtype=float)
    previous = np.concatenate([[capital], equity[:-1]])
    # The risk-free return is what cash earned: the rate known at each mark, accrued to the
    # next (actual/360) as the book accrues it, from one day's last mark to the next (the
    # first day: from the first mark).
    times = ts.to_numpy(dtype="datetime64[ns]")
    nights = np.diff(times) / np.timedelta64(1, "D")
    rate = marks["rate_pct"].to_numpy(dtype=float)
    grown = np.cumprod(np.concatenate([[1.0], 1.0 + rate[:-1] / 100.0 * nights / 360.0]))
    at_end = grown[np.flatnonzero(ts.dt.normalize().duplicated(keep="last").to_numpy() == 0)]
    rf = at_end / np.concatenate([[1.0], at_end[:-1]]) - 1.0
    return pd.DataFrame(
        {"date": last["date"].to_numpy(), "ret": equity / previous - 1.0, "rf": rf}
    ).reset_index(drop=True)


def drawdown_days(returns: pd.Series) -> int:
    """The longest stretch, in sessions, from a peak of the equity to its recovery (or to the
    end, when it never recovered)."""
    wealth = np.cumprod(1.0 + returns.to_numpy(dtype=float))
    peak = np.maximum.accumulate(np.concatenate([[1.0], wealth]))[1:]
    longest = run = 0
    for under in wealth < peak - 1e-12:
        run = run + 1 if under else 0
        longest = max(longest, run)
    return longest


def portfolio_figures(
    marks: pd.DataFrame,
    positions: pd.DataFrame | None,
    capital: float,
    benchmark: pd.DataFrame | None = None,
) -> dict:
    """The metrics table's row of one portfolio (figures as plain floats; None where a figure
    needs more days than there are)."""
    import empyrical as ep

    days = daily_returns(marks, capital)
    ret = pd.Series(days["ret"].to_numpy(), index=pd.DatetimeIndex(days["date"]))
    rf = pd.Series(days["rf"].to_numpy(), index=ret.index)
    n = len(ret)
    final = float(marks["equity"].iloc[-1]) if len(marks) else capital
    out: dict = {
        "days": n,
        "final_equity": final,
        "total_return_pct": 100.0 * (final / capital - 1.0),
        "annual_return_pct": None,
        "annual_volatility_pct": None,
        "sharpe": None,
        "sortino": None,
        "max_drawdown_pct": None,
        "drawdown_days": None,
        "calmar": None,
        "alpha": None,
        "beta": None,
        "exposure": float(marks["gross"].mean()) if len(marks) else 0.0,
        "turnover": None,
        "costs": float(marks["costs"].sum()) if len(marks) else 0.0,
    }
    flat = n < 2 or float(np.std(ret - rf)) < 1e-10  # cash, or no position ever opened
    if n >= 2:
        out |= {
            "max_drawdown_pct": 100.0 * float(ep.max_drawdown(ret)),
            "drawdown_days": drawdown_days(ret),
        }
    if n >= MIN_SESSIONS:
        out |= {
            "annual_return_pct": 100.0 * float(ep.annual_return(ret)),
            "annual_volatility_pct": 100.0 * float(ep.annual_volatility(ret)),
            "sharpe": None if flat else _finite(ep.sharpe_ratio(ret, risk_free=rf)),
            "sortino": None if flat else _finite(ep.sortino_ratio(ret, required_return=rf)),
            "calmar": _finite(ep.calmar_ratio(ret)),
            # The value traded over the average equity, a year's worth.
            "turnover": float(marks["traded"].sum() / marks["equity"].mean() * TRADING_DAYS / n),
        }
        if benchmark is not None and len(benchmark):
            bench = pd.Series(
                benchmark["ret"].to_numpy(), index=pd.DatetimeIndex(benchmark["date"])
            ).reindex(ret.index)
            if bench.notna().sum() >= MIN_SESSIONS:
                alpha, beta = ep.alpha_beta(ret - rf, bench - rf)
                out |= {"alpha": _finite(alpha), "beta": _finite(beta)}
    out |= _trade_figures(positions)
    return out


def _trade_figures(positions: pd.DataFrame | None) -> dict:
    """Positions opened, hit rate (closed with a profit after costs), average win and loss."""
    if positions is None or positions.empty:
        return {"positions": 0, "hit_rate": None, "avg_win_pct": None, "avg_loss_pct": None}
    opened = positions[positions["status"] != "none"]
    closed = opened[opened["status"] == "closed"]
    wins, losses = closed[closed["pnl"] > 0], closed[closed["pnl"] <= 0]
    return {
        "positions": len(opened),
        "hit_rate": float(len(wins) / len(closed)) if len(closed) else None,
        "avg_win_pct": float(wins["return_pct"].mean()) if len(wins) else None,
        "avg_loss_pct": float(losses["return_pct"].mean()) if len(losses) else None,
    }


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _sharpes(excess: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Annualised Sharpe ratio of each replicate (draws: replicate × day counts)."""
    total = draws.sum(axis=1)
    mean = draws @ excess / total
    var = (draws @ excess**2 - total * mean**2) / np.maximum(total - 1, 1)
    sd = np.sqrt(np.maximum(var, 0.0))
    # A series without risk (cash, a book that never opened) has a Sharpe of 0 over cash.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd < 1e-10, 0.0, mean / sd * math.sqrt(TRADING_DAYS))


def sharpe_difference(
    a: pd.DataFrame, b: pd.DataFrame, block: int
) -> tuple[float | None, float | None, float | None]:
    """The annualised Sharpe of `a` minus `b` (daily_returns frames, aligned on their common
    days) and its 95% moving-block bootstrap interval (blocks of `block` sessions)."""
    both = a.merge(b, on="date", suffixes=("_a", "_b"))
    if len(both) < MIN_SESSIONS:
        return None, None, None
    xa = (both["ret_a"] - both["rf_a"]).to_numpy(dtype=float)
    xb = (both["ret_b"] - both["rf_b"]).to_numpy(dtype=float)
    ones = np.ones((1, len(both)))
    point = float(_sharpes(xa, ones)[0] - _sharpes(xb, ones)[0])
    draws = block_draws(len(both), max(1, block))
    lo, hi = interval(_sharpes(xa, draws) - _sharpes(xb, draws))
    return (point if math.isfinite(point) else None), lo, hi


def sharpe_words(low: float, high: float, what: str) -> str:
    """The Sharpe difference's interval in words: "beats" or "trails" `what` only when the whole
    interval is on one side of 0."""
    if low > 0:
        return f"beats {what}"
    if high < 0:
        return f"trails {what}"
    return f"no better or worse than {what} beyond chance"


def probabilistic_sharpe(excess: np.ndarray, benchmark_sharpe: float = 0.0) -> float | None:
    """P(true Sharpe > benchmark_sharpe) of daily excess returns, allowing for their skew and
    fat tails (Bailey & López de Prado 2012; Sharpe ratios per day, not annualised)."""
    from scipy import stats

    x = np.asarray(excess, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 3 or x.std(ddof=1) < 1e-10:
        return None
    sr = x.mean() / x.std(ddof=1)
    skew, kurt = stats.skew(x), stats.kurtosis(x, fisher=False)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2
    if denom <= 0:
        return None
    return float(stats.norm.cdf((sr - benchmark_sharpe) * math.sqrt(len(x) - 1) / math.sqrt(denom)))


def deflated_sharpe(excess: np.ndarray, trial_sharpes: list[float]) -> float | None:
    """The probabilistic Sharpe of the chosen series against the Sharpe the best of
    `len(trial_sharpes)` tries would reach by luck alone (their daily Sharpes' spread): picking
    the best of many is not mistaken for skill."""
    from scipy import stats

    trials = np.asarray([s for s in trial_sharpes if s is not None and math.isfinite(s)])
    if len(trials) < 2:
        return probabilistic_sharpe(excess)
    spread = trials.std(ddof=1)
    n = len(trials)
    expected_max = spread * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
        + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    return probabilistic_sharpe(excess, float(expected_max))


def daily_sharpe(days: pd.DataFrame) -> float | None:
    """The per-day (not annualised) Sharpe of a daily_returns frame, for deflated_sharpe."""
    x = (days["ret"] - days["rf"]).to_numpy(dtype=float)
    if len(x) < 3 or x.std(ddof=1) < 1e-10:
        return None
    return float(x.mean() / x.std(ddof=1))
