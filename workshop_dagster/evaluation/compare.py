"""`make compare A=baseline B=no_feedback`: two variants' walks (`make evaluate --variant`) side by
side, paired by cycle (predictions/comparison.py), as a Markdown table and a document for the
site's Variants page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..predictions.comparison import as_json, compare, cumulative, table

__all__ = ["as_json", "compare", "cumulative", "main", "table"]


def _scores(folder: Path, variant: str) -> pd.DataFrame:
    import duckdb

    db = folder / "evaluation.duckdb"
    if not db.exists():
        raise SystemExit(
            f"no walk of variant {variant} in {folder}: run `make evaluate "
            f'EVALUATE_ARGS="--variant {variant}"` first'
        )
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("select * from prediction_scores").fetchdf()


def _restated(scores: pd.DataFrame) -> str:
    """'312 calls, 2,954 restated' for a walk's synthesis."""
    mine = scores[scores["source"] == "synthesis"]
    calls = int((mine["status"] == "scored").sum())
    return f"{calls:,} calls, {int((mine['status'] == 'restatement').sum()):,} restated"


def main(argv: list[str] | None = None) -> int:
    """`make compare A=baseline B=no_feedback`: the two variants' walks side by side."""
    import argparse

    from ..variants import evaluation_folder as variant_folder
    from ..variants import load_variants

    parser = argparse.ArgumentParser(prog="python -m workshop_dagster.evaluation.compare")
    parser.add_argument("a", help="a variant whose walk ran (variants.yaml)")
    parser.add_argument("b", help="the variant to compare it with")
    parser.add_argument("--walk", choices=["daily", "intraday"], default="daily")
    parser.add_argument(
        "--root", default=None, help="the evaluations' folder (default data/evaluation)"
    )
    args = parser.parse_args(argv)
    variants = load_variants()
    for name in (args.a, args.b):
        if name not in variants:
            parser.error(f"{name!r} is not a variant: use one of {', '.join(variants)}")
    sub = "intraday" if args.walk == "intraday" else ""
    a = _scores(variant_folder(args.a, args.root) / sub, args.a)
    b = _scores(variant_folder(args.b, args.root) / sub, args.b)
    rows = compare(a, b)
    text = (
        f"# {args.a} against {args.b} ({args.walk} walk)\n\n"
        "Paired by cycle on the synthesis's new calls (a restatement of a call still "
        "standing is counted nowhere: "
        f"{args.a} {_restated(a)}, {args.b} {_restated(b)}); an abstention counts as a coin "
        "over all cycles. Difference = first − second; 95% moving-block bootstrap interval "
        "over days; Diebold-Mariano statistic and two-sided p-value (Newey-West).\n\n"
        + table(rows, args.a, args.b)
        + "\n"
    )
    root = variant_folder("baseline", args.root)
    out = root / f"compare-{args.a}-vs-{args.b}-{args.walk}.md"
    out.write_text(text)
    # For the site's Variants page (publish/site.py): the table and the running differences.
    import json

    folder = root / "comparisons"
    folder.mkdir(exist_ok=True)
    doc = as_json(args.a, args.b, args.walk, rows, cumulative(a, b))
    (folder / f"{args.a}-vs-{args.b}-{args.walk}.json").write_text(json.dumps(doc, indent=1))
    print(text)
    print(f"wrote {out} and {folder / f'{args.a}-vs-{args.b}-{args.walk}.json'}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
