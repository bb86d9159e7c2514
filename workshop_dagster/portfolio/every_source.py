"""Every source's paper portfolio and its benchmarks on one timeline, and the metrics table.

All of them are marked at the same cycles (every cycle of the predictions) from the same
capital, so their curves and figures compare day for day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictions.scoring import PriceBook
from . import benchmarks, performance
from .paper_book import PaperPortfolio, paper_portfolio
from .rules import PortfolioRules

# The sources' portfolios first (as the track record orders them), then the benchmarks.
BENCHMARKS = ("always_up", "momentum", "buy_and_hold_called", "buy_and_hold", "cash")


def every_portfolio(
    predictions: pd.DataFrame,
    prices: PriceBook,
    rules: PortfolioRules,
    now: pd.Timestamp,
    rates: pd.DataFrame | None = None,
    features: pd.DataFrame | None = None,
) -> PaperPortfolio:
    """The positions and marks of every source in `predictions` and of the benchmarks
    (BENCHMARKS; always-up and momentum on the synthesis's calls, at its sizing; momentum
    only with the cycles' `features`)."""
    cycles = (
        predictions[["cycle_key", "cycle_ts"]]
        .drop_duplicates("cycle_key")
        .sort_values("cycle_ts", kind="stable")
    )
    cycles = cycles[pd.to_datetime(cycles["cycle_ts"]) <= pd.Timestamp(now)]
    books = [
        paper_portfolio(rows, prices, rules, now, rates, marks_at=cycles)
        for _, rows in predictions.groupby("source", sort=True)
    ]
    synthesis = predictions[predictions["source"] == "synthesis"]
    if len(synthesis):
        directions = {"always_up": pd.Series("up", index=synthesis.index)}
        if features is not None and len(features):
            from ..predictions.momentum import momentum_directions

            directions["momentum"] = momentum_directions(synthesis, features)
        for name, direction in directions.items():
            calls = benchmarks.baseline_calls(synthesis, direction, name)
            if len(calls):
                books.append(paper_portfolio(calls, prices, rules, now, rates, marks_at=cycles))
    called = sorted(
        set(synthesis.loc[synthesis["parse_status"] == "parsed", "ticker"].dropna())
        | set(synthesis["relative_to"].dropna())
        if len(synthesis)
        else set()
    )
    marks = [b.marks for b in books] + [
        benchmarks.buy_and_hold("buy_and_hold_called", called, cycles, prices, rules, rates),
        benchmarks.buy_and_hold("buy_and_hold", [rules.benchmark], cycles, prices, rules, rates),
        benchmarks.cash_marks(cycles, rules, rates).assign(source="cash"),
    ]
    positions = [b.positions for b in books if len(b.positions)]
    return PaperPortfolio(
        pd.concat(positions, ignore_index=True) if positions else books_empty(),
        pd.concat(marks, ignore_index=True),
    )


def books_empty() -> pd.DataFrame:
    from .paper_book import POSITION_COLUMNS

    return pd.DataFrame(columns=POSITION_COLUMNS)


def metrics_table(portfolio: PaperPortfolio, rules: PortfolioRules, block: int) -> pd.DataFrame:
    """One row per portfolio: performance.portfolio_figures, the Sharpe difference against the
    buy-and-hold benchmark with its block-bootstrap interval, and the probabilistic Sharpe
    ratio, deflated by the number of sources tried (the benchmarks are not tries)."""
    marks, positions = portfolio.marks, portfolio.positions
    days = {s: performance.daily_returns(m, rules.capital) for s, m in marks.groupby("source")}
    bench = days.get("buy_and_hold")
    tries = [performance.daily_sharpe(d) for s, d in days.items() if s not in BENCHMARKS and len(d)]
    rows = []
    for source, m in marks.groupby("source", sort=False):
        held = positions[positions["source"] == source] if len(positions) else None
        fig = performance.portfolio_figures(m, held, rules.capital, bench)
        diff = (None, None, None)
        if bench is not None and source != "buy_and_hold":
            diff = performance.sharpe_difference(days[source], bench, block)
        excess = (days[source]["ret"] - days[source]["rf"]).to_numpy()
        rows.append(
            {
                "source": source,
                **fig,
                "sharpe_vs_benchmark": diff[0],
                "sharpe_vs_benchmark_low": diff[1],
                "sharpe_vs_benchmark_high": diff[2],
                "probabilistic_sharpe": performance.probabilistic_sharpe(excess),
                "deflated_sharpe": (
                    performance.deflated_sharpe(excess, tries) if source not in BENCHMARKS else None
                ),
            }
        )
    out = pd.DataFrame(rows)
    return out.replace({np.nan: None})
