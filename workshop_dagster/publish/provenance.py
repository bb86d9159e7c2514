"""What a call was made from: the part of a cycle's context a reader needs to check that nothing
came from after the call (the headlines with the time each became visible and its source, the
figures the memo quoted, the track-record lines, the lessons and the rules it was shown).

Made from the stored context (`minds/cycle_context.full_document`), as Markdown: the site shows
it under each post, and the memo's metadata in the UI shows the latest cycle's. Every text in it
(headlines, lessons) is made inert as a memo's is.
"""

from __future__ import annotations

from typing import Any

from ..predictions.factcheck import extract_claims
from .posts import inert_markdown


def _cell(text: Any) -> str:
    return inert_markdown(" ".join(str(text).split())).replace("|", "\\|")


def provenance_markdown(
    context: dict[str, Any], memo_body: str, seal: dict[str, Any] | None = None
) -> str:
    """The "What this call was made from" section for one cycle's full context document, with
    the cycle's seal (its latest `record_seals` row) when it has one."""
    at = context["cycle_ts"]
    lines = [
        "## What this call was made from",
        "",
        f"Shown to the minds and the synthesis at {at} (New York). Every headline became "
        f"visible, and every record line and lesson was known, at or before that time.",
        "",
        "**Headlines**",
        "",
    ]
    news = context.get("news", [])
    if news:
        lines += ["| | visible from | source | headline | about |", "|---|---|---|---|---|"]
        # (A context stored before the archive has no handles and only publication times.)
        lines += [
            f"| {n.get('cite', '')} | {n.get('visible_from') or n.get('published_at', '')} "
            f"| {_cell(n.get('source', ''))} | {_cell(n.get('title', ''))} "
            f"| {_cell(n.get('tickers') or 'market')} |"
            for n in news
        ]
    else:
        lines.append("None: the news archive held no item visible in the day before this cycle.")
    releases = context.get("releases", [])
    if releases:
        lines += ["", "**Release calendar**", ""]
        lines += [
            f"- {_cell(r['name'])} ({_cell(r.get('source', ''))}): "
            f"{'out at' if r['status'] == 'out' else 'due'} {r['at']}"
            for r in releases
        ]
    regime = context.get("regime") or {}
    if regime:
        # The regime model's score and each input's push: for the reader who checks the label;
        # the memo says the regime in words.
        lines += [
            "",
            f"**Regime model**: {regime['label']}, score {regime['score']:+.2f} "
            f"(inputs and their pushes: {_cell(regime.get('drivers', ''))})",
        ]
    quoted = sorted({c.text for c in extract_claims(memo_body)})
    lines += ["", "**Figures the memo quoted** (checked against the cycle's data)", ""]
    lines.append(", ".join(_cell(q) for q in quoted) if quoted else "None.")
    record = [
        r
        for r in context.get("track_record", [])
        if r["regime"] == "all" and r["timeframe_bucket"] == "all" and r["subject_kind"] == "all"
    ]
    lines += ["", "**Track record it was shown**", ""]
    if record:
        lines += ["| source | scored | right | abstained |", "|---|---|---|---|"]
        lines += [
            f"| {r['source']} | {r['n']} | {r.get('hits', '')} | {r.get('n_abstained', 0)} |"
            for r in sorted(record, key=lambda r: r["source"])
        ]
    else:
        lines.append("None yet: no call had been scored by this cycle.")
    known = context.get("known_through")
    if known:
        lines += ["", f"Outcomes known through {known}."]
    lines += ["", "**Lessons**", ""]
    lines += [
        f"- {lesson['known_at']} ({_cell(lesson['source'])}): {_cell(lesson['text'])}"
        for lesson in context.get("lessons", [])
    ] or ["None."]
    lines += ["", "**Rules**", ""]
    lines += [f"- {_cell(rule['rule_text'])}" for rule in context.get("rules", [])] or ["None."]
    if seal:
        kind = "amended" if seal["kind"] == "amendment" else "sealed"
        lines += [
            "",
            f"**Sealed** before its outcome was known: this memo and its calls are {kind} as "
            f"row {int(seal['seq'])} of the record, seal `{seal['seal']}` "
            "(`record/record.jsonl`; check with `python -m workshop_dagster.commands.verify --site`).",
        ]
    return "\n".join(lines) + "\n"
