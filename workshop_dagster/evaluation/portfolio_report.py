"""The evaluation's answer to "what would following the calls have earned?": each half of a
walk traded from fresh capital by every source's paper portfolio (portfolio/), against the
benchmarks, with a verdict line per benchmark from the Sharpe difference's bootstrap interval."""

from __future__ import annotations

import math

import pandas as pd

from ..portfolio.every_source import BENCHMARKS, every_portfolio, metrics_table
from ..portfolio.paper_book import PaperPortfolio, fed_funds
from ..portfolio.performance import daily_returns, sharpe_difference, sharpe_words
from ..portfolio.rules import PortfolioRules
from ..predictions.scoring import PriceBook

COLUMNS = {
    "positions": "positions",
    "exposure": "exposure",
    "total_return_pct": "return %",
    "annual_return_pct": "a year %",
    "sharpe": "Sharpe",
    "max_drawdown_pct": "max drawdown %",
    "turnover": "turnover a year",
    "costs": "costs $",
    "hit_rate": "positions won",
    "sharpe_vs_benchmark": "Sharpe − SPY held [95%]",
}


def half_portfolios(
    tables: dict[str, pd.DataFrame],
    closes: pd.DataFrame,
    periods: dict[str, pd.Timestamp | None],
    now: pd.Timestamp,
    rules: PortfolioRules,
) -> tuple[dict[str, PaperPortfolio], dict[str, pd.DataFrame]]:
    """Every source's portfolio and the benchmarks in each period (name -> (start, end) of
    cycle times), from fresh capital; and the synthesis's marks with costs of zero."""
    from ..portfolio.paper_book import paper_portfolio

    predictions = tables["predictions"]
    rates = fed_funds(tables["macro_rates"])
    features = tables["cycle_features"][["cycle_ts", "ticker", "change_1d_pct"]]
    book = PriceBook.of(closes)
    out, free = {}, {}
    for name, (start, end) in periods.items():
        ts = pd.to_datetime(predictions["cycle_ts"])
        rows = predictions[(ts >= start) & (ts < end)]
        if len(rows):
            out[name] = every_portfolio(rows, book, rules, now, rates, features)
            mine = rows[rows["source"] == "synthesis"]
            cycles = rows[["cycle_key", "cycle_ts"]].drop_duplicates("cycle_key")
            if len(mine):
                free[name] = paper_portfolio(
                    mine, book, rules.without_costs(), now, rates, marks_at=cycles
                ).marks
    return out, free


def report(
    portfolios: dict[str, PaperPortfolio],
    rules: PortfolioRules,
    block: int,
    free: dict[str, pd.DataFrame] | None = None,
) -> tuple[str, dict]:
    """The Markdown section and the figures (period -> source -> figures); `free`: the
    synthesis's marks per period with costs of zero, for comparison."""
    free = free or {}
    lines = ["| period | portfolio | " + " | ".join(COLUMNS.values()) + " |"]
    lines.append("|---|---|" + "---|" * len(COLUMNS))
    figures, verdict_lines = {}, []
    for period, book in portfolios.items():
        table = metrics_table(book, rules, block)
        figures[period] = {r["source"]: r for r in table.to_dict("records")}
        for r in table.to_dict("records"):
            lines.append(f"| {period} | {r['source']} | " + " | ".join(_cells(r)) + " |")
        verdict_lines += [f"{period}: {line}" for line in verdicts(book, rules, block)]
        if period in free:
            verdict_lines.append(f"{period}: {_without_costs(book, free[period])}")
    text = (
        "## What following the calls would have earned\n\n"
        "Each half traded from fresh capital ($"
        f"{rules.capital:,.0f}) by every source's paper portfolio: quarter Kelly on the published "
        "probability, at most 20% a leg and 100% gross, costs of 2/3/5 bp a side and 30 bp a year "
        "to borrow, cash at the fed funds rate known (docs/scoring.md). Sharpe over cash; the "
        "difference with SPY held has a 95% moving-block bootstrap interval over days.\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(f"- {line}" for line in verdict_lines)
    )
    return text, figures


def _cells(r: dict) -> list[str]:
    out = []
    for col in COLUMNS:
        v = r.get(col)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("—")
        elif col == "sharpe_vs_benchmark":
            lo, hi = r.get("sharpe_vs_benchmark_low"), r.get("sharpe_vs_benchmark_high")
            out.append(f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]")
        elif col == "hit_rate":
            out.append(f"{100 * v:.0f}%")
        elif col == "positions":
            out.append(f"{int(v):,}")
        elif col == "turnover":
            out.append(f"{v:.1f}×")
        elif col == "exposure":
            out.append(f"{100 * v:.1f}%")
        elif col == "costs":
            out.append(f"{v:,.0f}")
        else:
            out.append(f"{v:.2f}")
    return out


def verdicts(book: PaperPortfolio, rules: PortfolioRules, block: int) -> list[str]:
    """A line per benchmark for the synthesis's portfolio: its Sharpe minus the benchmark's,
    with the interval, in words only when the interval is on one side of 0."""
    days = {s: daily_returns(m, rules.capital) for s, m in book.marks.groupby("source", sort=False)}
    if "synthesis" not in days:
        return ["the synthesis made no call: no portfolio"]
    lines = []
    for bench in BENCHMARKS:
        if bench not in days:
            continue
        d, lo, hi = sharpe_difference(days["synthesis"], days[bench], block)
        if d is None or lo is None or math.isnan(lo):
            lines.append(f"synthesis against {bench}: too few days to compare.")
            continue
        word = sharpe_words(lo, hi, bench)
        lines.append(f"synthesis: {word} (Sharpe {d:+.2f}, 95% interval [{lo:+.2f}, {hi:+.2f}]).")
    return lines


def _without_costs(book: PaperPortfolio, free: pd.DataFrame) -> str:
    """What the costs took from the synthesis: its final equity with them and without."""
    marks = book.marks[book.marks["source"] == "synthesis"]
    if marks.empty or free.empty:
        return "the synthesis made no call."
    paid = float(marks["costs"].sum())
    return (
        f"the synthesis paid ${paid:,.0f} in trading costs and ended at "
        f"${float(marks['equity'].iloc[-1]):,.0f}; trading for free (for comparison only, never "
        f"the default) it would have ended at ${float(free['equity'].iloc[-1]):,.0f}."
    )
