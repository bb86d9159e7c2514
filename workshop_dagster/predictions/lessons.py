"""A short reflection per scored call, in the seeds' voice, written when the score is known."""

from __future__ import annotations

import pandas as pd

from ..registry.minds import SYNTHESIS, title

MOVE_WORDS = {"up": "higher", "down": "lower", "flat": "flat"}


def _call_text(row: dict) -> str:
    subject = row["ticker"]
    if row.get("relative_to"):
        subject = f"{row['ticker']} relative to {row['relative_to']}"
    return f"{subject} {MOVE_WORDS.get(row['direction'], row['direction'])} over {row['timeframe']}"


def lesson_for(row: dict) -> str:
    """One or two sentences: what was called, what happened, what to take from it."""
    if row.get("status") == "abstained":
        return "I abstained. No score, no lesson about direction, only that I had nothing to say."
    who = "I" if row["source"] == SYNTHESIS else title(row["source"])
    verb = "called" if who == "I" else "called"
    moved = float(row["realized_return_pct"])
    conf = float(row["confidence"]) if row.get("confidence") is not None else None
    regime = str(row.get("regime", "")).replace("_", "-")
    conf_text = f" at {100 * conf:.0f}%" if conf is not None else ""
    head = f"{who} {verb} {_call_text(row)}{conf_text}; it moved {moved:+.2f}%."
    score = float(row["score"])
    if row["hit"] and score >= 0.7:
        tail = (
            f"Score: {score:.1f} out of 1. Right, and for a reason that held: in {regime} the "
            f"{row['subject_kind'].replace('_', ' ')} read was worth trusting."
        )
    elif row["hit"]:
        tail = (
            f"Score: {score:.1f} out of 1. Right on direction, but the move was barely out of the "
            "noise: that is luck as much as skill, and I should size confidence that way."
        )
    elif score > 0:
        tail = (
            f"Score: {score:.1f} out of 1. Wrong, inside the noise band: the signal was not strong "
            f"enough to call in {regime}."
        )
    else:
        tail = (
            f"Score: {score:.1f} out of 1. Dead wrong. The {regime} regime did not reward this "
            f"kind of {row['subject_kind'].replace('_', ' ')} call; the reasoning was flawed."
        )
    return f"{head} {tail}"


def lessons_frame(scores: pd.DataFrame) -> pd.DataFrame:
    """Lessons for scored calls and abstentions, stamped with when they became known."""
    done = scores[scores["status"].isin(["scored", "abstained"])]
    if done.empty:
        return pd.DataFrame(
            columns=[
                "cycle_key",
                "cycle_ts",
                "source",
                "subject",
                "hit",
                "score",
                "regime",
                "lesson",
                "known_at",
            ]
        )
    return pd.DataFrame(
        {
            "cycle_key": done["cycle_key"],
            "cycle_ts": done["cycle_ts"],
            "source": done["source"],
            "subject": done["subject"],
            "hit": done["hit"],
            "score": done["score"],
            "regime": done["regime"],
            "lesson": [lesson_for(r) for r in done.to_dict("records")],
            "known_at": done["known_at"],
        }
    ).reset_index(drop=True)
