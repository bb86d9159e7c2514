"""`make compare A=baseline B=no_feedback`: two variants' walks (`make evaluate --variant`) side by
side, paired by cycle (predictions/comparison.py), as a Markdown table and a document for the
site's Variants page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..predictions.comparison import as_json, compare, cumulative, table

__all__ = ["as_json", "compare", "cumulative", "main", "table"]


WALK_TABLES = ("prediction_scores", "predictions", "macro_rates")


def _walk(folder: Path, variant: str) -> dict[str, pd.DataFrame]:
    """The tables of a variant's walk that a comparison reads (its scores, for the pairing; its
    calls and rates, for the paper portfolios), read once."""
    db = folder / "evaluation.duckdb"
    if not db.exists():
        raise SystemExit(
            f"no walk of variant {variant} in {folder}: run `make evaluate "
            f'EVALUATE_ARGS="--variant {variant}"` first'
        )
    from ..store import asset_rows, warehouse

    with warehouse.read_only(db) as conn:
        return {t: asset_rows.whole(conn, t) for t in WALK_TABLES}


def _restated(scores: pd.DataFrame) -> str:
    """'312 calls, 2,954 restated' for a walk's synthesis."""
    mine = scores[scores["source"] == "synthesis"]
    calls = int((mine["status"] == "scored").sum())
    return f"{calls:,} calls, {int((mine['status'] == 'restatement').sum()):,} restated"


def portfolio_lines(
    a: str, b: str, walks: dict[str, dict[str, pd.DataFrame]], market: str, intraday: bool
) -> tuple[str, dict]:
    """The two variants' synthesis portfolios on the cycles both walked: each one's Sharpe,
    the difference with its block-bootstrap interval, and each one's probabilistic Sharpe and
    the deflated Sharpe of the better (two tried: the better of two is not skill by itself).
    `walks`: each variant's walk tables (`_walk`); the difference is `a` minus `b`."""
    from ..config.settings import active
    from ..config.variants import load_variants
    from ..market import calendar
    from ..portfolio import performance
    from ..portfolio.paper_book import fed_funds, paper_portfolio
    from ..predictions.baselines import scoring_closes
    from ..predictions.bootstrap import horizon_block
    from ..predictions.scoring import PriceBook

    variants = load_variants()
    common = set.intersection(*(set(w["predictions"]["cycle_key"]) for w in walks.values()))
    if not common:
        return "No cycle both walked: no portfolio to compare.", {}
    every = pd.concat([w["predictions"] for w in walks.values()], ignore_index=True)
    book = PriceBook.of(scoring_closes(every, market, intraday))
    days, figures = {}, {}
    for name, w in walks.items():
        rows = w["predictions"][w["predictions"]["cycle_key"].isin(common)]
        mine = rows[rows["source"] == "synthesis"]
        rates = fed_funds(w["macro_rates"])
        cycles = rows[["cycle_key", "cycle_ts"]].drop_duplicates("cycle_key")
        # Each variant at its own sizing (variants.yaml `sizing`), costs as set.
        rules = variants[name].portfolio_rules(active().portfolio)
        marks = paper_portfolio(mine, book, rules, calendar.now_ny(), rates, cycles).marks
        days[name] = performance.daily_returns(marks, rules.capital)
        figures[name] = performance.portfolio_figures(marks, None, rules.capital)
    d, lo, hi = performance.sharpe_difference(days[a], days[b], horizon_block(every))
    excess = {n: (x["ret"] - x["rf"]).to_numpy() for n, x in days.items()}
    tries = [performance.daily_sharpe(x) for x in days.values()]
    better = max(walks, key=lambda n: figures[n]["sharpe"] or float("-inf"))
    deflated = performance.deflated_sharpe(excess[better], tries)

    def num(v, fmt="{:.2f}"):
        return "—" if v is None else fmt.format(v)

    text = (
        f"Paper portfolios of the synthesis on the {len(common):,} cycles both walked "
        f"(docs/scoring.md): {a} {num(figures[a]['total_return_pct'], '{:+.2f}%')}, Sharpe "
        f"{num(figures[a]['sharpe'])}; {b} {num(figures[b]['total_return_pct'], '{:+.2f}%')}, "
        f"Sharpe {num(figures[b]['sharpe'])}. Sharpe difference {a} − {b}: "
        + (
            f"{d:+.2f} [95% {lo:+.2f}, {hi:+.2f}]"
            if d is not None and lo is not None
            else "too few days"
        )
        + f". Probability the better ({better}) has a true Sharpe above what the better of two "
        f"would reach by luck (deflated Sharpe): {num(deflated)}."
    )
    doc = {
        "sharpe": {n: figures[n]["sharpe"] for n in walks},
        "total_return_pct": {n: figures[n]["total_return_pct"] for n in walks},
        "difference": d,
        "low": lo,
        "high": hi,
        "deflated_sharpe": deflated,
        "better": better,
    }
    return text, doc


def main(argv: list[str] | None = None) -> int:
    """`make compare A=baseline B=no_feedback`: the two variants' walks side by side."""
    import argparse

    from ..config.variants import evaluation_folder as variant_folder
    from ..config.variants import load_variants

    parser = argparse.ArgumentParser(prog="python -m workshop_dagster.evaluation.compare")
    parser.add_argument("a", help="a variant whose walk ran (variants.yaml)")
    parser.add_argument("b", help="the variant to compare it with")
    parser.add_argument("--walk", choices=["daily", "intraday"], default="daily")
    parser.add_argument(
        "--root", default=None, help="the evaluations' folder (default data/evaluation)"
    )
    parser.add_argument(
        "--market",
        default=None,
        help="the csv market folder the walks ran on (default ../shared/data/market)",
    )
    args = parser.parse_args(argv)
    variants = load_variants()
    for name in (args.a, args.b):
        if name not in variants:
            parser.error(f"{name!r} is not a variant: use one of {', '.join(variants)}")
    sub = "intraday" if args.walk == "intraday" else ""
    walks = {v: _walk(variant_folder(v, args.root) / sub, v) for v in (args.a, args.b)}
    a, b = (walks[v]["prediction_scores"] for v in (args.a, args.b))
    rows = compare(a, b)
    from .__main__ import DEFAULT_MARKET

    market = f"csv:{Path(args.market or DEFAULT_MARKET).expanduser().resolve()}"
    portfolio_text, portfolio_doc = portfolio_lines(
        args.a, args.b, walks, market, args.walk == "intraday"
    )
    text = (
        f"# {args.a} against {args.b} ({args.walk} walk)\n\n"
        "Paired by cycle on the synthesis's new calls (a restatement of a call still "
        "standing is counted nowhere: "
        f"{args.a} {_restated(a)}, {args.b} {_restated(b)}); an abstention counts as a coin "
        "over all cycles. Difference = first − second; 95% moving-block bootstrap interval "
        "over days; Diebold-Mariano statistic and two-sided p-value (Newey-West).\n\n"
        + table(rows, args.a, args.b)
        + "\n\n"
        + portfolio_text
        + "\n"
    )
    root = variant_folder("baseline", args.root)
    out = root / f"compare-{args.a}-vs-{args.b}-{args.walk}.md"
    out.write_text(text)
    # For the site's Variants page (publish/site.py): the table and the running differences.
    import json

    folder = root / "comparisons"
    folder.mkdir(exist_ok=True)
    doc = as_json(args.a, args.b, args.walk, rows, cumulative(a, b)) | {"portfolio": portfolio_doc}
    (folder / f"{args.a}-vs-{args.b}-{args.walk}.json").write_text(json.dumps(doc, indent=1))
    print(text)
    print(f"wrote {out} and {folder / f'{args.a}-vs-{args.b}-{args.walk}.json'}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
