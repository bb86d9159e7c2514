"""`make demo`: backfill a few weeks of cycles offline, then print the latest memo and how each
mind has done, by regime.

Runs are recorded in the Dagster instance in DAGSTER_HOME, or the project's (`.dagster_home`),
so `make ui` shows them afterwards; tables land in the warehouse (WORKSHOP_DB).
"""

from __future__ import annotations

import argparse
import bisect
import sys

import pandas as pd

from ..config.settings import PROJECT_ROOT, SettingsError, active
from ..predictions.verdicts import FLOOR_NOTE
from ..store import asset_rows, warehouse
from .job_runs import InstanceFolderError, project_instance, run_job

DEFAULT_CYCLES = 320  # four weeks of the default cadence (16 cycles a trading day)


def backfill(
    cycles: int = DEFAULT_CYCLES, end_key: str | None = None, amend: bool = False
) -> list[str]:
    """One single run of the `cycle` job over the chosen cycles, then the rollups. Cycles
    already sealed are left as published (minds/published.py) unless `amend`: then they are
    recomputed and any that says otherwise is appended as a visible amendment."""
    from ..definitions import PARTITIONS
    from ..lib.partitions import time_to_key
    from ..market.calendar import now_ny

    # Cycles up to now: after a market holiday's excluded ticks Dagster already offers the next
    # session's first cycle (the cycle step would refuse it). Keys sort as their times do.
    keys = PARTITIONS.get_partition_keys()
    keys = keys[: bisect.bisect_right(keys, time_to_key(now_ny()))]
    if end_key:
        if end_key not in keys:
            from ..lib.partitions import cycle_key_problem

            why = cycle_key_problem(end_key, PARTITIONS) or f"{end_key} has not happened yet"
            raise SystemExit(f"--end {end_key}: {why} (the latest cycle is {keys[-1]})")
        keys = keys[: keys.index(end_key) + 1]
    else:
        keys = _served(keys)
    chosen = keys[-cycles:]
    instance = project_instance(PROJECT_ROOT)
    where = " (the run is in `make ui`)"
    tags = {"workshop/amend": "true"} if amend else None
    run_job("project_job", instance, chosen, where, args=("cycle",), tags=tags)
    run_job("project_job", instance, where=where, args=("rollups",))
    return chosen


def _served(keys: list[str]) -> list[str]:
    """The cycles up to the last session the market source has (a `csv:` folder ends at some
    date; the simulator and Yahoo run to today): without --end the demo ends where the data
    does, instead of failing on cycles the source cannot serve."""
    from ..lib.partitions import key_to_time
    from ..market.sources import open_source

    settings = active()
    if settings.market.startswith("csv:"):
        source = open_source(settings.market, base_dir=PROJECT_ROOT)
        now = key_to_time(keys[-1])
        bars = source.daily_bars(["SPY"], now - pd.Timedelta(days=3650), now)
        if bars.empty:
            raise SystemExit(f"{settings.market} has no SPY bars in the ten years before {now}")
        last_day, what = bars["session_date"].max(), "its daily bars"
        # The cadence quotes the minute: past the intraday bars' end every cycle would find
        # nothing new, and its calls could not be scored at the minute.
        intraday = getattr(source, "intraday_bars", None) if settings.intraday else None
        if intraday is not None:
            minute = intraday(["SPY"], last_day - pd.Timedelta(days=3650), now)
            if len(minute) and minute["bar_start"].max().normalize() < last_day:
                last_day, what = minute["bar_start"].max().normalize(), "its intraday bars"
        keys = [k for k in keys if key_to_time(k).normalize() <= last_day]
        print(f"{settings.market}: {what} end on {last_day:%Y-%m-%d}; the demo ends there.")
    return keys


BASELINE_NAMES = {"always_up": "always up (baseline)", "momentum": "momentum (baseline)"}


def _plain_board(board: pd.DataFrame) -> pd.DataFrame:
    """The track record in a reader's words: the calls (new ideas) and the restatements apart,
    the hit rate with its interval against the base rate (how often the called direction
    happened, across everyone's calls) and the Brier score with its interval, each judged in
    words that come from the interval (predictions/verdicts.py)."""
    from ..predictions import verdicts

    rows = [verdicts.record_figures(r) for r in board.to_dict("records")]
    return pd.DataFrame(
        {
            "who": board["source"],
            "regime": board["regime"].str.replace("_", "-"),
            "calls": board["n"],
            "restated": board["n_restatements"],
            "abstained": board["n_abstained"],
            "right [95%]": [verdicts.hit_rate_figures(h, n) for h, n, *_ in rows],
            "base": [verdicts.pct(b) if b is not None else "—" for _, _, b, _, _ in rows],
            "hit rate says": [verdicts.hit_rate_verdict(h, n, b) for h, n, b, _, _ in rows],
            "Brier [95%]": [verdicts.brier_figures(m, sd, n) for _, n, _, m, sd in rows],
            "Brier says": [verdicts.brier_verdict(m, sd, n, b) for _, n, b, m, sd in rows],
        }
    )


def baseline_board(conn, base_rate: float | None, chosen: list[str]) -> pd.DataFrame:
    """Always-up and momentum on the synthesis's scored calls of the demo's cycles (the same
    subject, horizon and price series: predictions/baselines.py), as track-record rows."""
    from ..market.calendar import now_ny
    from ..predictions.baselines import baseline_scores, scoring_closes
    from ..predictions.calibration_report import outcomes, summary

    scores = asset_rows.scores_between(conn, chosen[0], chosen[-1])
    synthesis = scores[(scores["source"] == "synthesis") & (scores["status"] == "scored")]
    if synthesis.empty:
        return pd.DataFrame()
    settings = active()
    features = asset_rows.daily_changes(
        conn, synthesis["cycle_ts"].min(), synthesis["cycle_ts"].max()
    )
    closes = scoring_closes(synthesis, settings.market, settings.intraday, base_dir=PROJECT_ROOT)
    rows = baseline_scores(synthesis, features, closes, scores, now_ny())
    out = []
    for name in BASELINE_NAMES:
        mine = rows[rows["source"] == name]
        called = outcomes(mine, {"score": "mean"})
        figures = summary(called)
        n = figures["n_outcomes"]
        out.append(
            {
                "source": BASELINE_NAMES[name],
                "regime": "all",
                "n": n,
                "n_restatements": int((mine["status"] == "restatement").sum()),
                "n_abstained": 0,
                "hits": int(called["hit"].sum()) if n else 0,
                "base_rate": base_rate,
                "brier": figures["brier"] if n else None,
                "brier_sd": float(called["brier"].std()) if n > 1 else None,
            }
        )
    return pd.DataFrame(out)


def report(chosen: list[str]) -> str:
    settings = active()
    with warehouse.connect(settings.database, transaction=False) as conn:
        memo = asset_rows.memo_body(conn, chosen[-1])
        # The latest memo that makes a new call, when the latest cycle's does not.
        called = asset_rows.latest_memo_with_a_new_call(conn, chosen[0], chosen[-1])
        board = asset_rows.scoreboard(conn)
        rules = asset_rows.rule_texts(conn)
        base = board["base_rate"].dropna()
        baselines = baseline_board(conn, float(base.iloc[0]) if len(base) else None, chosen)
    lines = [
        f"Workshop: market {settings.market!r}, minds {settings.llm!r}, "
        f"cycles {chosen[0]} .. {chosen[-1]} ({len(chosen)}), database {settings.database}",
        "",
        "Latest memo",
        "===========",
        memo,
    ]
    if called and called[0] != chosen[-1]:
        lines += [f"Latest call (cycle {called[0]})", "=" * 30, called[1]]
    lines += [
        "Scoreboard (calls: new ideas; a call said again while it stands, before its horizon",
        "ends, is a restatement, listed and never counted; abstentions apart; the baselines",
        "call the synthesis's subjects; each reading's words come from its 95% interval)",
        "=================================================================================",
    ]
    if len(board) and len(baselines):
        # As records: a baseline's figures may all be missing (too few calls), and pandas
        # warns about concatenating all-missing columns.
        board = pd.DataFrame(board.to_dict("records") + baselines.to_dict("records"))
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        lines.append(
            _plain_board(board).to_string(index=False)
            if len(board)
            else "(no call has matured yet)"
        )
    lines.append(FLOOR_NOTE)
    lines += ["", "Active rules", "============"]
    lines += [f"- {r}" for r in rules] or ["(none yet)"]
    site = settings.data_dir / "site" / "index.html"
    lines += ["", f"Posts: {settings.data_dir / 'posts'}", f"Site:  {site}"]
    text = "\n".join(lines)
    print(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=DEFAULT_CYCLES)
    parser.add_argument("--end", help="last cycle key, e.g. 2026-03-30-19:15 (default: latest)")
    parser.add_argument(
        "--amend",
        action="store_true",
        help="recompute cycles already sealed and publish what now differs as visible "
        "amendments (default: a sealed cycle is left as it was published)",
    )
    args = parser.parse_args(argv)
    try:
        report(backfill(args.cycles, args.end, args.amend))
    except (SettingsError, InstanceFolderError) as exc:
        raise SystemExit(f"workshop: {exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
