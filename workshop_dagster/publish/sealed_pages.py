"""What a published page carries of the sealed record, and how `verify` reads it back.

Each post's page holds its memo in a block marked with the cycle's seal (`sealed_block`): the
memo exactly as `sealed_memo_html` renders the sealed text, so `verify` re-renders the record's
memo (itself checked against the hash its seal covers) and compares the two byte for byte. An
edited confidence, title or sentence on a page is named; so is a page whose seal the chain no
longer holds (its seal was trimmed from the record). The index names each post's call and the
chain's head in attributes `verify` reads the same way. The outcome under a post and the
provenance are not sealed: they are computed from prices and the stored context after the call.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping

from .posts import inert_markdown, markdown_to_html, render_post

BLOCK_END = "</div><!-- sealed memo -->"
BLOCK_RE = re.compile(
    r'<div class="sealed-memo" data-cycle="(?P<cycle>[^"]*)" data-seq="(?P<seq>\d*)" '
    r'data-seal="(?P<seal>[0-9a-f]*)">\n(?P<inner>.*?)\n' + re.escape(BLOCK_END),
    re.S,
)
INDEX_ROW_RE = re.compile(
    r'<tr data-cycle="(?P<cycle>[^"]+)">.*?<td class="call">(?P<call>.*?)</td>', re.S
)
INDEX_HEAD_RE = re.compile(r'data-head-seq="(?P<seq>\d+)" data-head-seal="(?P<seal>[0-9a-f]+)"')


def sealed_memo_html(memo_body: str) -> str:
    """The memo as its page shows it: the sealed text in the seeds' layout, made inert (raw
    HTML shown as text, no links) and rendered, with no permanent link and no outcome (a memo
    out of the layout, which no check would have passed, is shown inert as it is)."""
    try:
        markdown = render_post(memo_body, None, None)
    except ValueError:
        markdown = inert_markdown(memo_body)
    return markdown_to_html(markdown).strip()


def sealed_block(cycle_key: str, seal: Mapping | None, memo_body: str) -> str:
    """The memo's block on its page, carrying the cycle's latest seal (none: not sealed)."""
    seq = str(int(seal["seq"])) if seal else ""
    digest = str(seal["seal"]) if seal else ""
    return (
        f'<div class="sealed-memo" data-cycle="{html.escape(cycle_key)}" data-seq="{seq}" '
        f'data-seal="{digest}">\n{sealed_memo_html(memo_body)}\n{BLOCK_END}'
    )


def call_text(call: Mapping | None) -> str:
    """A call as the index shows it ("TLT up 1w at 0.82"), from a predictions or scores row or
    a call of the sealed content alike."""
    if not call or call.get("parse_status") == "abstained":
        return "abstained"
    if call.get("parse_status") != "parsed":
        return "unparseable"
    text = (
        f"{call['subject']} {call['direction']} {call['timeframe']} at "
        f"{float(call['confidence']):.2f}"
    )
    restates = call.get("restates")
    return f"{text}, restated" if isinstance(restates, str) and restates else text


def synthesis_call(content_json: str) -> dict | None:
    """The synthesis's call in a cycle's sealed content."""
    calls = json.loads(content_json)["calls"]
    return next((c for c in calls if c["source"] == "synthesis"), None)


def page_problem(
    page: str, cycle_key: str, latest: Mapping | None, memo_body: str | None, first_sealed: str
) -> str | None:
    """What is wrong with one post's page, given its cycle's latest seal row in the published
    chain (None: the chain holds none), the record's memo for it, and the first sealed cycle
    (a page before it predates the seal)."""
    found = BLOCK_RE.search(page)
    if found is None:
        return f"the page of cycle {cycle_key} carries no sealed memo block"
    if found["cycle"] != cycle_key:
        return f"the page of cycle {cycle_key} carries the memo of cycle {found['cycle']}"
    if latest is None:
        if not found["seal"] and cycle_key < first_sealed:
            return None  # published before the record was sealed
        return (
            f"the page of cycle {cycle_key} carries seal {found['seq'] or '(none)'} but the "
            "published chain holds no seal of that cycle: the record was trimmed"
        )
    if found["seal"] != latest["seal"]:
        return (
            f"the page of cycle {cycle_key} carries seal {found['seq'] or '(none)'}, not the "
            f"cycle's latest seal in the chain ({int(latest['seq'])})"
        )
    if memo_body is None or found["inner"] != sealed_memo_html(memo_body):
        return f"the page of cycle {cycle_key}: its memo differs from what was sealed"
    return None


def index_problems(index: str, head: tuple[int, str] | None, calls: Mapping[str, str]) -> list:
    """What is wrong with the index: the head it shows against the chain's, and each row's call
    against the sealed synthesis call of its cycle (`calls`: cycle -> `call_text`)."""
    problems = []
    shown = INDEX_HEAD_RE.search(index)
    if head is not None and (shown is None or (int(shown["seq"]), shown["seal"]) != head):
        problems.append(
            f"the index shows another head than the chain's last seal ({head[0]})"
            if shown
            else "the index does not show the chain's head"
        )
    for row in INDEX_ROW_RE.finditer(index):
        cycle, text = row["cycle"], html.unescape(row["call"]).strip()
        if cycle in calls and calls[cycle] != text:
            problems.append(
                f"the index lists cycle {cycle}'s call as {text!r}; it was sealed as "
                f"{calls[cycle]!r}"
            )
    return problems
