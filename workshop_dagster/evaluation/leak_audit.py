"""The leak audit: did any cycle see something that was not knowable at its time?

It reads what the loop stored (each context with the record it names put back) and checks it
against an independent scoring of every call:

- every market bar, quote (the last bar it came from had ended), rate observation, news item
  and feature a cycle used was published at or before the cycle time, and every window of daily
  bars (`market_bars`, over the sessions stored once in `session_bars`) resolves to exactly the
  sessions it held;
- every headline a cycle's context showed (put back from the news archive) was visible at its
  time: published, stamped by its feed and first fetched at or before it;
- every lesson a cycle was shown comes from a score known (by the independent scoring) at or
  before the cycle time;
- the track record a cycle saw counts, per source, exactly the calls whose scores were known by
  its record point, the last close (and settlement) at or before it (`minds.context.record_point`:
  more would be a leak, fewer a loss), and every rule it saw rests on exactly the scored calls of
  its kind known by then.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..minds.context import Feedback
from ..minds.cycle_context import full_document


@dataclass(frozen=True)
class Violation:
    cycle_key: str
    what: str
    detail: str


def _late_rows(frame: pd.DataFrame, time_col: str, what: str) -> list[Violation]:
    late = frame[frame[time_col] > frame["cycle_ts"]]
    return [
        Violation(r["cycle_key"], what, f"{time_col} {r[time_col]} after the cycle")
        for r in late.head(50).to_dict("records")
    ]


def _check_windows(
    windows: pd.DataFrame, bars: pd.DataFrame, checks: int, violations: list[Violation]
) -> tuple[int, list[Violation]]:
    """Every window's bars (`market_bars` names a window over `session_bars`) resolve to as many
    sessions as it held, ending at the last bar it saw."""
    held = bars.groupby(["cycle_ts", "ticker"]).agg(n=("bar_ts", "size"), last=("bar_ts", "max"))
    merged = windows.join(held, on=["cycle_ts", "ticker"])
    bad = merged[
        (merged["n"].fillna(0) != merged["sessions"]) | (merged["last"] != merged["last_bar_ts"])
    ]
    checks += len(windows)
    violations += [
        Violation(
            r["cycle_key"],
            "market_bars (window)",
            f"{r['ticker']}: held {r['sessions']} sessions to {r['last_bar_ts']}, "
            f"resolves to {0 if pd.isna(r['n']) else int(r['n'])} to {r['last']}",
        )
        for r in bad.head(50).to_dict("records")
    ]
    return checks, violations


def _known_counts(
    scores: pd.DataFrame, cycle_ts: pd.Timestamp, status: str, outcomes: bool = False, **group
) -> int:
    """The calls of `status` (and `group`) made before the cycle's record point and known by
    it; with `outcomes`, the distinct outcomes they make (calls with the same subject,
    direction, entry and exit count once, as the record counts them)."""
    from ..minds.context import record_point
    from ..predictions.calibration_report import OUTCOME_KEY
    from ..predictions.calibration_report import outcomes as outcomes_of

    point = record_point(cycle_ts)
    if point is None:
        return 0
    mask = (
        (scores["status"] == status) & (scores["cycle_ts"] < point) & (scores["known_at"] <= point)
    )
    for col, value in group.items():
        mask &= scores[col] == value
    if not outcomes or not set(OUTCOME_KEY) <= set(scores.columns):
        return int(mask.sum())
    return len(outcomes_of(scores[mask]))


def audit(
    tables: dict[str, pd.DataFrame], feedback: Feedback | None = None
) -> tuple[int, list[Violation]]:
    """(number of checks made, violations). `tables` holds the loop's stored tables, made by
    a variant showing the record as `feedback` does (default: all of it, as of each cycle):
    with `off`, any line of the record in a context is a violation; with `placebo`, the record
    and the lessons a cycle saw are checked against what was knowable `offset_days` before it
    (so none of them can be the cycle's own record)."""
    feedback = feedback or Feedback()
    violations: list[Violation] = []
    checks = 0
    for name, col in (
        ("market_bars", "bar_ts"),
        ("market_quotes", "quote_ts"),
        ("macro_rates", "as_of"),
        ("news_items", "visible_from"),
        ("cycle_features", "last_bar_ts"),
        ("mind_context", "known_through"),
    ):
        frame = tables[name].dropna(subset=[col])
        checks += len(frame)
        violations += _late_rows(frame, col, name)

    if "market_windows" in tables:  # each window put back whole: what its cycle saw
        checks, violations = _check_windows(
            tables["market_windows"], tables["market_bars"], checks, violations
        )
    scores = tables["prediction_scores"]
    known_at = {
        (r["cycle_key"], r["source"]): r["known_at"]
        for r in scores[["cycle_key", "source", "known_at"]].to_dict("records")
    }
    by_source = {s: g for s, g in scores.groupby("source")}
    records = dict(
        zip(
            tables["context_records"]["record_id"],
            tables["context_records"]["record_json"],
            strict=True,
        )
    )
    archive = tables.get("news_archive")
    news = {r["item_id"]: r for r in archive.to_dict("records")} if archive is not None else None
    for row in tables["mind_context"].to_dict("records"):
        key, cycle_ts = row["cycle_key"], pd.Timestamp(row["cycle_ts"])
        ctx = full_document(row["context_json"], records, news)
        if feedback.mode == "off":
            shown = sum(len(ctx[part]) for part in ("track_record", "lessons", "rules"))
            shown += len(ctx["calibration"])
            checks += 1
            if shown:
                violations.append(
                    Violation(key, "feedback (off)", f"{shown} lines of the record shown")
                )
        # The time the record shown is as of: the cycle's, or the placebo's earlier one.
        ts = (
            cycle_ts - pd.Timedelta(days=feedback.offset_days)
            if feedback.mode == "placebo"
            else cycle_ts
        )
        for item in ctx.get("news", []):
            checks += 1
            if pd.Timestamp(item["visible_from"]) > cycle_ts:
                violations.append(
                    Violation(
                        key,
                        "news",
                        f"{item['cite']} {item['title'][:60]!r}: visible from "
                        f"{item['visible_from']}, shown at {cycle_ts}",
                    )
                )
        for lesson in ctx["lessons"]:
            checks += 1
            truth = known_at.get((lesson["cycle_key"], lesson["source"]))
            if truth is None or pd.isna(truth) or pd.Timestamp(truth) > ts:
                violations.append(
                    Violation(
                        key,
                        "lesson",
                        f"{lesson['cycle_key']} {lesson['source']}: "
                        f"known at {truth}, shown at {ts}",
                    )
                )
        for rec in ctx["track_record"]:
            if rec["regime"] != "all" or rec["timeframe_bucket"] != "all":
                continue
            if rec["subject_kind"] != "all":
                continue
            group = by_source.get(rec["source"], scores.iloc[0:0])
            # Every call known by the point, each once: new calls (a record from before
            # restatements were told apart counted its calls in n_calls), restatements and
            # abstentions each against what was knowable.
            counts = [("scored", rec.get("n_calls", rec["n"])), ("abstained", rec["n_abstained"])]
            if "n_restatements" in rec:
                counts.append(("restatement", rec["n_restatements"]))
            for status, seen in counts:
                checks += 1
                truth = _known_counts(group, ts, status)
                if int(seen or 0) != truth:
                    kind = "leak" if int(seen or 0) > truth else "loss"
                    violations.append(
                        Violation(
                            key,
                            f"track_record ({kind})",
                            f"{rec['source']} {status}: saw {seen}, knowable {truth}",
                        )
                    )
        for rule in ctx["rules"]:
            checks += 1
            group = by_source.get(rule["source"], scores.iloc[0:0])
            truth = _known_counts(
                group,
                ts,
                "scored",
                outcomes=True,
                timeframe_bucket=rule["timeframe_bucket"],
                subject_kind=rule["subject_kind"],
            )
            if int(rule["n"]) != truth:
                violations.append(
                    Violation(
                        key,
                        "rule",
                        f"{rule['rule_id']}: rests on {rule['n']} outcomes, {truth} knowable",
                    )
                )
    return checks, violations
