"""`make evaluate`: walk-forward replays of the offline loop over real history.

Two walks (`--walk`, default both, each in its own process: a walk's cadence is its
partitions, fixed when the definitions are imported):

- `daily`: one evening cycle (19:15 New York) per trading day from 2018, every quote the last
  close; its results in `--out`.
- `intraday`: the Workshop's default cadence (09:15 .. 15:45 every 30 minutes, 19:15, 19:45)
  over the real intraday bars (2024 on; the tickers without bars at their last close, marked
  stale); its results in `--out`/intraday.

Each runs its cycles through the real assets in time order (one single run, as a backfill)
into a fresh DuckDB file. Then every call is scored by the independent scoring code, the
baselines are scored by the same code on the same calls (in the same price series), the leak
audit checks that no cycle saw anything from after its time, and the figures are printed per
half of the period and per source, written to `figures.json`, `report.md` and a reliability
diagram `reliability.png`. Exit status 1 if an audit finds a leak.

(Over 350 lines: the command line, a walk's own settings, its run and its figures per period;
the report, metrics, baselines and audit are modules of their own.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config.settings import (
    DEFAULT_CYCLE_CRON,
    PROJECT_ROOT,
    Settings,
    SettingsError,
    active,
    load_settings,
    use,
)
from ..config.variants import evaluation_folder
from ..registry.minds import sources

DEFAULT_MARKET = PROJECT_ROOT.parent / "shared" / "data" / "market"
EVENING_CRON = "15 19 * * 1-5"


@dataclass(frozen=True)
class Walk:
    """One walk-forward: its cadence, its first day, whether quotes are of the minute, where
    its results go under `--out` and what a line of output calls its cycles."""

    name: str
    cron: str
    start: str
    intraday: bool
    folder: str
    cycles: str


WALKS = {
    "daily": Walk("daily", EVENING_CRON, "2018-01-02", False, "", "evening cycles"),
    "intraday": Walk(
        "intraday",
        DEFAULT_CYCLE_CRON,
        "2024-01-02",
        True,
        "intraday",
        "cycles of the default cadence",
    ),
}
SOURCES = list(sources())
TABLES = [
    "market_bars",
    "market_quotes",
    "macro_rates",
    "news_items",
    "cycle_features",
    "mind_context",
    "context_records",
    "news_archive",
    "predictions",
    "prediction_scores",
]


def _day(text: str) -> str:
    """A YYYY-MM-DD date, as given."""
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
    if len(text) != 10:
        raise argparse.ArgumentTypeError(f"{text!r}: use YYYY-MM-DD")
    return text


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_dagster.evaluation", description=__doc__
    )
    parser.add_argument(
        "--walk",
        choices=["both", *WALKS],
        default="both",
        help="which walk-forward (default both: daily into --out, intraday into --out/intraday; "
        "one walk alone goes where both would put it unless --out is given)",
    )
    parser.add_argument("--market", default=str(DEFAULT_MARKET), help="a csv market folder")
    parser.add_argument(
        "--start",
        default=None,
        help="first cycle date (default: 2018-01-02 daily, 2024-01-02 intraday)",
    )
    parser.add_argument(
        "--end",
        default=None,
        type=_day,
        help="last cycle date, YYYY-MM-DD (default: the end of the walk's data)",
    )
    parser.add_argument(
        "--variant",
        default="baseline",
        help="the mind variant to walk (variants.yaml; default baseline)",
    )
    parser.add_argument(
        "--lake",
        default=None,
        metavar="CATALOG",
        help="walk in a shared DuckLake instead of a fresh file: its catalog "
        "ducklake:postgres:<conninfo> (an empty database; the Parquet files go to --out/lake)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="folder for the results (default data/evaluation, a variant's "
        "data/evaluation/variants/<name>)",
    )
    args = parser.parse_args(argv)
    from ..config.variants import load_variants

    variants = load_variants()
    if args.variant not in variants:
        parser.error(f"--variant {args.variant!r}: use one of {', '.join(variants)}")
    if args.out is None:
        # One walk asked alone lands where both walks put it (the intraday one under
        # intraday/), so `make compare --walk intraday` finds it and the daily one is kept.
        sub = WALKS[args.walk].folder if args.walk in WALKS else ""
        args.out = str(evaluation_folder(args.variant) / sub)
    return args


def _both(args: argparse.Namespace) -> int:
    """Each walk in its own process, one after the other; a walk with no cycle in the chosen
    dates is skipped (said so); exit status the worst of the two."""
    worst = 0
    for walk in WALKS.values():
        first = args.start or walk.start
        if args.end and args.end < first:
            print(
                f"== {walk.name} walk-forward: no cycle by {args.end} (it starts {first}); skipped"
            )
            continue
        out = Path(args.out) / walk.folder
        command = [sys.executable, "-m", "workshop_dagster.evaluation", "--walk", walk.name]
        command += ["--market", args.market, "--out", str(out), "--variant", args.variant]
        for flag in ("start", "end", "lake"):
            if getattr(args, flag):
                command += [f"--{flag}", getattr(args, flag)]
        print(f"== {walk.name} walk-forward", flush=True)
        worst = max(worst, subprocess.call(command))
    return worst


def _configure(args: argparse.Namespace, walk: Walk) -> tuple[Path, Settings]:
    """The evaluation's own settings (whatever WORKSHOP_* the shell holds), installed before the
    definitions are imported, so its partitions and resources are built from them."""
    market = Path(args.market).expanduser().resolve()
    if not (market / "daily").is_dir():
        raise SystemExit(
            f"no daily price folder under {market}: pass --market PATH (the workplace keeps "
            "real history in ../shared/data/market)"
        )
    if walk.intraday and not (market / "intraday").is_dir():
        raise SystemExit(f"no intraday folder under {market}: the intraday walk needs its bars")
    out = Path(args.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    db = out / "evaluation.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    where = {"WORKSHOP_DB": str(db)}
    if args.lake:  # the same walk in a lake: its figures must not depend on the backend
        where = {"WORKSHOP_DB": args.lake, "WORKSHOP_LAKE_DATA": str(out / "lake")}
    try:
        settings = load_settings(
            {
                "WORKSHOP_MARKET": f"csv:{market}",
                "WORKSHOP_CYCLE_CRON": walk.cron,
                "WORKSHOP_START": args.start or walk.start,
                **where,
                "WORKSHOP_DATA_DIR": str(out / "data"),
                **_model_settings(args.variant, out),
                "WORKSHOP_VARIANT": args.variant,
                # A walk replays one variant in its own warehouse (`make compare` pairs them).
                "WORKSHOP_VARIANTS": "none",
                # Where the warm great_expectations worker lives: the shell's, so a walk uses
                # the one the user's runs (or a test session) already started.
                "WORKSHOP_RUNTIME_DIR": os.environ.get("WORKSHOP_RUNTIME_DIR", ""),
                # The daily walk: every quote the last close (the folder's intraday bars cover
                # 2024 on only); the intraday walk: the quote of the cycle's minute.
                "WORKSHOP_INTRADAY": "true" if walk.intraday else "false",
            }
        )
    except SettingsError as exc:
        # The dates came from the command line, not the environment: named as given.
        text = str(exc).replace("WORKSHOP_START=", "--start ")
        raise SystemExit(f"evaluation: {text}") from None
    if args.lake:
        _refuse_a_lake_in_use(settings.database)
    use(settings)
    return out, settings


def _refuse_a_lake_in_use(location: str) -> None:
    """A walk starts from an empty warehouse: a lake that holds tables is refused, not mixed."""
    from ..store import lake, warehouse

    with warehouse.read_only(location) as conn:
        (n,) = conn.execute(
            "select count(*) from information_schema.tables where table_catalog = ?", [lake.ALIAS]
        ).fetchone()
    if n:
        raise SystemExit(
            f"evaluation: the lake of --lake holds {n} table(s): a walk starts from an empty "
            "warehouse (give it a new catalog database: createdb)"
        )


def _model_settings(variant: str, out: Path) -> dict[str, str]:
    """The engine a variant's walk runs: the offline minds, or the variant's model (Claude, or a
    chat-completions server) with the shell's WORKSHOP_LLM_* and keys, its replay cache and
    spend ledger in `llm_replay.duckdb` beside the walk (kept: a walk asked again replays every
    reply at $0, where the walk's warehouse is made anew)."""
    from ..config.variants import load_variants

    chosen = load_variants()[variant]
    engine = chosen.engine or "offline"
    if engine == "offline":
        return {"WORKSHOP_LLM": "offline"}
    shell = {k: v for k, v in os.environ.items() if k.startswith("WORKSHOP_LLM_")}
    if chosen.mind_model:  # the variant's models are applied by the resource; this one passes
        shell.setdefault("WORKSHOP_LLM_MODEL", chosen.mind_model)  # the settings' check
    keys = {k: os.environ[k] for k in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY") if k in os.environ}
    replay = str(out / "llm_replay.duckdb")
    return {**shell, **keys, "WORKSHOP_LLM": engine, "WORKSHOP_LLM_REPLAY_DB": replay}


def _data_end(walk: Walk) -> str:
    """The last day of the walk's data: SPY's last daily bar, or its last intraday bar."""
    from ..market.sources import open_source

    source = open_source(active().market)
    first, now = pd.Timestamp("1990-01-01"), pd.Timestamp.now()
    if walk.intraday:
        last = source.intraday_bars(["SPY"], first, now)["bar_start"].max()
    else:
        last = source.daily_bars(["SPY"], first, now)["session_date"].max()
    return str(pd.Timestamp(last).date())


def _cycle_keys(walk: Walk, end: str | None) -> list[str]:
    from ..definitions import PARTITIONS

    keys = PARTITIONS.get_partition_keys()
    end = end or _data_end(walk)
    chosen = [k for k in keys if k[:10] <= end]
    if not chosen:
        raise SystemExit(f"{walk.name} walk: no cycle between {active().start} and {end}")
    return chosen


def run_loop(keys: list[str]) -> float:
    """The loop's assets over the cycles in one single run, on a throwaway instance with the
    project's event log (the evaluation needs the tables, not a run history; Dagster's in-memory
    instance writes each event in a transaction of its own, 40% of a walk's time). Returns
    seconds."""
    import tempfile

    import dagster as dg
    import yaml

    from ..commands.job_runs import run_job

    storage = {
        "module": "workshop_dagster.platform.event_log",
        "class": "BatchedSqliteEventLogStorage",
    }
    # A temporary instance of its own, described by its own dagster.yaml (without one Dagster
    # prints a notice on every walk), never the user's DAGSTER_HOME.
    with tempfile.TemporaryDirectory(prefix="workshop-evaluation-") as home:
        config = {"event_log_storage": storage, "telemetry": {"enabled": False}}
        (Path(home) / "dagster.yaml").write_text(yaml.safe_dump(config))
        instance = dg.DagsterInstance.from_config(home)
        started = time.perf_counter()
        run_job("loop_job", instance, keys)
        seconds = time.perf_counter() - started
        instance.dispose()
    return seconds


def _tables() -> dict[str, pd.DataFrame]:
    from ..store import asset_rows, session_bars, warehouse

    with warehouse.connect(active().database, transaction=False) as conn:
        tables = {t: asset_rows.whole(conn, t) for t in TABLES}
        # What each window held, put back from the sessions stored once (market_bars names it).
        tables["market_windows"] = tables["market_bars"]
        tables["market_bars"] = session_bars.window_bars(conn)
        return tables


def _closes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    from ..predictions.baselines import scoring_closes

    return scoring_closes(tables["predictions"], active().market, active().intraday)


def evaluate(
    tables: dict[str, pd.DataFrame], keys: list[str], closes: pd.DataFrame | None = None
) -> tuple[dict, dict]:
    """(figures per period and source, scored rows per period) from the loop's tables
    (`closes`: the scoring prices, when the caller has them already)."""
    from ..market import calendar
    from ..predictions.baselines import BASELINES, baseline_scores, reference_rate
    from .metrics import brier_difference, summarize

    scores = tables["prediction_scores"]
    scores = scores[scores["cycle_key"].isin(keys)]
    synthesis = scores[(scores["source"] == "synthesis") & (scores["status"] == "scored")]
    closes = _closes(tables) if closes is None else closes
    baselines = baseline_scores(
        synthesis, tables["cycle_features"], closes, scores, calendar.now_ny()
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
    # Each source against each baseline over the whole period: the difference in Brier with a
    # block-bootstrap interval (the report's verdict lines).
    figures["comparisons"] = {
        f"{source} vs {baseline}": brier_difference(
            rows[rows["source"] == source], rows[rows["source"] == baseline]
        )
        for source in SOURCES
        for baseline in BASELINES
    }
    return figures, periods


def _halves(keys: list[str]) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """The two halves of the walk (by cycle day, as `evaluate` splits them): name -> (from, to)."""
    middle = pd.Timestamp(pd.Series(sorted(keys)).map(lambda k: k[:10]).iloc[len(keys) // 2])
    first, last = pd.Timestamp(keys[0][:10]), pd.Timestamp(keys[-1][:10]) + pd.Timedelta(days=1)
    return {"first half": (first, middle), "second half": (middle, last)}


def _portfolios(
    tables: dict[str, pd.DataFrame], keys: list[str], settings: Settings, closes: pd.DataFrame
):
    """The paper portfolios of each half (evaluation/portfolio_report.py): Markdown, figures."""
    from ..config.variants import load_variants
    from ..market import calendar
    from ..predictions.bootstrap import horizon_block
    from .portfolio_report import half_portfolios, report

    rules = load_variants()[settings.variant].portfolio_rules(settings.portfolio)
    books, free = half_portfolios(tables, closes, _halves(keys), calendar.now_ny(), rules)
    text, figures = report(books, rules, horizon_block(tables["predictions"]), free)
    return text, figures


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.walk == "both":
        return _both(args)
    walk = WALKS[args.walk]
    out, settings = _configure(args, walk)
    from ..minds.context import Feedback
    from .leak_audit import audit
    from .report import reliability_diagram, table, verdicts, write_json

    keys = _cycle_keys(walk, args.end)
    print(f"walk-forward: {len(keys)} {walk.cycles}, {keys[0]} .. {keys[-1]}", flush=True)
    seconds = run_loop(keys)
    print(f"loop: {seconds:.0f} s ({len(keys) / seconds:.1f} cycles/s)", flush=True)
    tables = _tables()
    checks, violations = audit(tables, Feedback.of_variant(settings.variant))
    # The scoring prices, read once: the baselines and the portfolios use the same.
    closes = _closes(tables)
    figures, periods = evaluate(tables, keys, closes)
    portfolio_text, figures["portfolios"] = _portfolios(tables, keys, settings, closes)
    write_json(figures, out / "figures.json")
    reliability_diagram(
        {k: v for k, v in periods.items() if k != "whole period"}, SOURCES, out / "reliability.png"
    )
    audit_line = f"leak audit: {checks} checks, {len(violations)} violations"
    text = "\n\n".join(
        [
            f"# Walk-forward evaluation ({walk.name})\n\n{len(keys)} {walk.cycles}, "
            f"{keys[0]} .. {keys[-1]}, market {settings.market}, offline minds, variant "
            f"{settings.variant}.",
            table(figures),
            "## Verdicts\n\nWhole period: the source's Brier score minus the baseline's (below 0 "
            "is better), with a 95% moving-block bootstrap interval over days.\n\n"
            + "\n".join(f"- {line}" for line in verdicts(figures)),
            portfolio_text,
            audit_line,
        ]
    )
    (out / "report.md").write_text(text + "\n")
    print(table(figures))
    print("\n".join(verdicts(figures)))
    print(portfolio_text)
    print(audit_line)
    for v in violations[:20]:
        print(f"  {v.cycle_key} {v.what}: {v.detail}")
    print(f"wrote {out / 'figures.json'}, {out / 'report.md'}, {out / 'reliability.png'}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
