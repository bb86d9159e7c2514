"""Posts: each cycle's memo as a Markdown file in the seeds' layout, plus its outcome once scored.

The memo text is never edited: a post is the memo, the permanent link the seeds end with, and
(once the synthesis call is scored) an outcome section after a marker line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .layout import parse, render


def slugify(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug[:60].rstrip("-") or "memo"


def post_slug(cycle_key: str, title: str) -> str:
    """'2026-03-30-1915-the-small-cap-canary-isn-t-about-iran' (no ':' in file names)."""
    return f"{cycle_key.replace(':', '')}-{slugify(title)}"


def outcome_lines(score: dict | None) -> list[str]:
    """The outcome section for the synthesis call's score row (empty while pending)."""
    if not score or score.get("status") in (None, "pending"):
        return []
    status = score["status"]
    if status == "abstained":
        return [
            "**Outcome:** abstained. No call, so nothing to score; it counts apart from accuracy."
        ]
    if status == "unscorable":
        return [f"**Outcome:** unscorable: {score.get('reason')}."]
    verdict = "hit" if score["hit"] else "miss"
    subject = score["subject"]
    known = pd.Timestamp(score["known_at"]).strftime("%Y-%m-%d %H:%M")
    return [
        f"**Outcome ({known}):** {verdict}. {subject} moved "
        f"{float(score['realized_return_pct']):+.2f}% against a call of "
        f"{score['direction']} at {float(score['confidence']):.2f}; score "
        f"{float(score['score']):.2f}, Brier {float(score['brier']):.3f}."
    ]


def render_post(memo_body: str, permalink: str, score: dict | None) -> str:
    parts = parse(memo_body)
    parts.permalink = permalink
    parts.outcome = outcome_lines(score)
    return render(parts)


def write_post(folder: Path, slug: str, text: str) -> Path:
    """Write atomically: a reader never sees half a post."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
