"""`make evaluate`: a walk-forward replay of the offline loop over real daily history.

One evening cycle (19:15 New York) per trading day from `--start`, through the real assets in
time order (one single run, as a backfill), into a fresh DuckDB file. Then every call is scored
by the independent scoring code, the baselines are scored by the same code on the same calls,
the leak audit checks that no cycle saw anything from after its time, and the figures are
printed per half of the period and per source, written to `figures.json`, `report.md` and a
reliability diagram `reliability.png` in `--out`. Exit status 1 if the audit finds a leak.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from ..mind_registry import sources
from ..settings import PROJECT_ROOT, Settings, SettingsError, active, load_settings, use

DEFAULT_MARKET = PROJECT_ROOT.parent / "shared" / "data" / "market"
EVENING_CRON = "15 19 * * 1-5"
SOURCES = list(sources())
TABLES = [
    "market_bars",
    "macro_rates",
    "news_items",
    "cycle_features",
    "mind_context",
    "predictions",
    "prediction_scores",
]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_dagster.evaluation", description=__doc__
    )
    parser.add_argument("--market", default=str(DEFAULT_MARKET), help="a csv market folder")
    parser.add_argument("--start", default="2018-01-02", help="first cycle date")
    parser.add_argument("--end", default=None, help="last cycle date (default: end of the data)")
    parser.add_argument(
        "--out", default=str(PROJECT_ROOT / "data" / "evaluation"), help="folder for the results"
    )
    return parser.parse_args(argv)


def _configure(args: argparse.Namespace) -> tuple[Path, Settings]:
    """The evaluation's own settings (whatever WORKSHOP_* the shell holds), installed before the
    definitions are imported, so its partitions and resources are built from them."""
    market = Path(args.market).expanduser().resolve()
    if not (market / "daily").is_dir():
        raise SystemExit(
            f"no daily price folder under {market}: pass --market PATH (the workplace keeps "
            "real history in ../shared/data/market)"
        )
    out = Path(args.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    db = out / "evaluation.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    try:
        settings = load_settings(
            {
                "WORKSHOP_MARKET": f"csv:{market}",
                "WORKSHOP_CYCLE_CRON": EVENING_CRON,
                "WORKSHOP_START": args.start,
                "WORKSHOP_DB": str(db),
                "WORKSHOP_DATA_DIR": str(out / "data"),
                "WORKSHOP_LLM": "offline",
                # The daily walk-forward: every quote the last close (the folder's intraday
                # bars cover 2024 on only).
                "WORKSHOP_INTRADAY": "false",
            }
        )
    except SettingsError as exc:
        raise SystemExit(f"evaluation: {exc}") from None
    use(settings)
    return out, settings


def _cycle_keys(end: str | None) -> list[str]:
    from ..definitions import PARTITIONS
    from ..market.sources import open_source

    keys = PARTITIONS.get_partition_keys()
    if end is None:
        source = open_source(active().market)
        spy = source.daily_bars(["SPY"], pd.Timestamp("1990-01-01"), pd.Timestamp.now())
        end = str(pd.Timestamp(spy["session_date"].max()).date())
    chosen = [k for k in keys if k[:10] <= end]
    if not chosen:
        raise SystemExit(f"no cycle between the start and {end}")
    return chosen


def run_loop(keys: list[str]) -> float:
    """The loop's assets over the cycles in one single run (an in-memory Dagster instance: the
    evaluation needs the tables, not a run history). Returns seconds."""
    import dagster as dg

    from ..definitions import ASSETS, CHECKS
    from ..job_runs import run_job
    from ..resources import build_resources

    job = dg.define_asset_job(
        "evaluate", selection=dg.AssetSelection.groups("market", "minds", "predictions")
    )
    defs = dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[job],
        resources=build_resources(active()),
        executor=dg.in_process_executor,
    )
    started = time.perf_counter()
    run_job(defs, "evaluate", dg.DagsterInstance.ephemeral(), keys)
    return time.perf_counter() - started


def _tables() -> dict[str, pd.DataFrame]:
    from .. import warehouse

    with warehouse.connect(active().database, transaction=False) as conn:
        return {t: conn.execute(f"select * from {t}").fetchdf() for t in TABLES}


def _closes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    from ..market.asof import publish_bars
    from ..market.sources import open_source
    from ..market.universe import TICKERS

    start = tables["predictions"]["cycle_ts"].min() - pd.Timedelta(days=10)
    end = tables["predictions"]["horizon_end"].max()
    bars = open_source(active().market).daily_bars(TICKERS, start, end)
    return publish_bars(bars)[["ticker", "bar_ts", "close"]]


def evaluate(tables: dict[str, pd.DataFrame], keys: list[str]) -> tuple[dict, dict]:
    """(figures per period and source, scored rows per period) from the loop's tables."""
    from ..market import calendar
    from .baselines import BASELINES, baseline_scores, reference_rate
    from .metrics import summarize

    scores = tables["prediction_scores"]
    scores = scores[scores["cycle_key"].isin(keys)]
    synthesis = scores[(scores["source"] == "synthesis") & (scores["status"] == "scored")]
    baselines = baseline_scores(
        synthesis, tables["cycle_features"], _closes(tables), scores, calendar.now_ny()
    )
    rows = pd.concat([scores, baselines], ignore_index=True)
    rows["reference"] = reference_rate(scores, rows["cycle_ts"])
    middle = pd.Timestamp(pd.Series(sorted(keys)).map(lambda k: k[:10]).iloc[len(keys) // 2])
    periods = {
        f"first half ({keys[0][:10]} .. {(middle - pd.Timedelta(days=1)).date()})": rows[
            rows["cycle_ts"] < middle
        ],
        f"second half ({middle.date()} .. {keys[-1][:10]})": rows[rows["cycle_ts"] >= middle],
        "whole period": rows,
    }
    figures = {
        period: {
            source: summarize(frame[frame["source"] == source]) for source in [*SOURCES, *BASELINES]
        }
        for period, frame in periods.items()
    }
    return figures, periods


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out, settings = _configure(args)
    from .leak_audit import audit
    from .report import reliability_diagram, table, write_json

    keys = _cycle_keys(args.end)
    print(f"walk-forward: {len(keys)} evening cycles, {keys[0]} .. {keys[-1]}", flush=True)
    seconds = run_loop(keys)
    print(f"loop: {seconds:.0f} s ({len(keys) / seconds:.1f} cycles/s)", flush=True)
    tables = _tables()
    checks, violations = audit(tables)
    figures, periods = evaluate(tables, keys)
    write_json(figures, out / "figures.json")
    reliability_diagram(
        {k: v for k, v in periods.items() if k != "whole period"}, SOURCES, out / "reliability.png"
    )
    audit_line = f"leak audit: {checks} checks, {len(violations)} violations"
    text = "\n\n".join(
        [
            f"# Walk-forward evaluation\n\n{len(keys)} evening cycles, {keys[0]} .. {keys[-1]}, "
            f"market {settings.market}, offline minds.",
            table(figures),
            audit_line,
        ]
    )
    (out / "report.md").write_text(text + "\n")
    print(table(figures))
    print(audit_line)
    for v in violations[:20]:
        print(f"  {v.cycle_key} {v.what}: {v.detail}")
    print(f"wrote {out / 'figures.json'}, {out / 'report.md'}, {out / 'reliability.png'}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
