"""Posts: each cycle's memo as a Markdown file in the seeds' layout, plus its outcome once scored.

A post is the memo, the permanent link the seeds end with, and (once the synthesis call is
scored) an outcome section after a marker line. The memo's words are not edited, but text a model
wrote is made inert for Markdown readers (raw HTML escaped, link syntax broken), as the site
does. A post's file is named by its cycle alone, so its permanent link survives a re-run that
changes the title.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .layout import parse, render


def post_slug(cycle_key: str) -> str:
    """'2026-03-30-1915': the cycle, with no ':' (file names) and no title (a permanent link
    must not move when a re-run retitles the memo)."""
    slug = re.sub(r"[^0-9A-Za-z+-]+", "", cycle_key)
    if not slug:
        raise ValueError(f"no file name can be made from cycle key {cycle_key!r}")
    return slug


def inert_markdown(text: str) -> str:
    """Model text made inert for Markdown renderers: raw HTML shown as text, no links. A bare
    '&' stays (Markdown shows it as it is: 'S&P'); an entity a model wrote shows as its
    character, as text."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("](", "]\\(")


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
    if status == "restatement":
        return [
            f"**Outcome:** a restatement of the call of cycle {score['restates']}, which still "
            "stood: that call is scored at its own horizon, and this cycle counts in no figure."
        ]
    verdict = "hit" if score["hit"] else "miss"
    subject = score["subject"]
    known = pd.Timestamp(score["known_at"]).strftime("%Y-%m-%d %H:%M")
    return [
        f"**Outcome ({known}):** {verdict}. {subject} moved "
        f"{float(score['realized_return_pct']):+.2f}%{_legs(score)} against a call of "
        f"{score['direction']} at {float(score['confidence']):.2f}; score "
        f"{float(score['score']):.2f}, Brier {float(score['brier']):.3f}."
    ]


def _legs(score: dict) -> str:
    """' (from 512.30 at 2026-03-30 19:15 to 518.02 at 2026-04-06 16:00)': the prices the
    scoring took, and when (a pair's move is relative; its first leg's prices are shown)."""
    prices = [score.get(k) for k in ("entry_price", "exit_price", "entry_ts", "exit_ts")]
    if any(v is None or (not isinstance(v, str) and pd.isna(v)) for v in prices):
        return ""
    entry, exit_, entry_ts, exit_ts = prices
    leg = f" {score['ticker']}" if score.get("relative_to") else ""
    return (
        f" ({leg.strip() + ' ' if leg else ''}from {float(entry):.2f} at "
        f"{pd.Timestamp(entry_ts):%Y-%m-%d %H:%M} to {float(exit_):.2f} at "
        f"{pd.Timestamp(exit_ts):%Y-%m-%d %H:%M})"
    )


def markdown_to_html(text: str) -> str:
    """Markdown to HTML with raw HTML disabled: '<script>' in a memo stays text."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def split_post(markdown: str) -> tuple[str, str]:
    """(the memo, what follows it: the permanent link and the outcome) of a post's Markdown."""
    parts = parse(markdown)
    parts.permalink, parts.outcome = None, []
    memo = render(parts)
    if not markdown.startswith(memo):
        raise ValueError("the post does not start with its memo")
    return memo, markdown[len(memo) :]


def render_post(memo_body: str, permalink: str | None, score: dict | None) -> str:
    parts = parse(memo_body)
    parts.title = inert_markdown(parts.title)
    parts.body = [inert_markdown(p) for p in parts.body]
    parts.prediction = [inert_markdown(p) for p in parts.prediction]
    parts.permalink = permalink
    parts.outcome = outcome_lines(score)
    return render(parts)


def write_post(folder: Path, slug: str, text: str) -> Path:
    """Write atomically (a reader never sees half a post), and remove the cycle's posts under
    earlier names (the titled names of earlier versions), so none is left orphaned."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    for old in folder.glob(f"{slug}-*.md"):
        old.unlink(missing_ok=True)
    return path
