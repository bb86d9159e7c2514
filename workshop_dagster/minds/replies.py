"""What a model's reply must be, checked: a mind's `submit_opinion` call, the synthesis's memo
(the seeds' layout ending in the tag, its call bound to the minds by `synthesis.call_problem`),
one repair request when it is not, and the memo as published."""

from __future__ import annotations

import json
import re

import pandas as pd

from ..predictions.claim_check import claim_problems
from ..predictions.tags import find_tag, parse_tag
from .cycle_context import CycleContext
from .prompting import OPINION_TOOL, InvalidReply
from .synthesis import abstention_memo, call_problem, footer, render_memo
from .types import Memo, Opinion, lean


def tool_input(reply: dict) -> dict:
    """A mind's `submit_opinion` input: its tool call, or, from a model that answered in prose
    (a local model that ignores tools), the same fields read from its text (`text_opinion`)."""
    for block in reply["content"]:
        if block.get("type") == "tool_use" and block.get("name") == "submit_opinion":
            return block.get("input")
    text = reply_text(reply)
    if text:
        return text_opinion(text)
    raise InvalidReply("the reply did not call submit_opinion")


def answered_in_prose(reply: dict) -> bool:
    """Whether a mind's reply gave its opinion as text rather than as the tool call."""
    return not any(b.get("type") == "tool_use" for b in reply["content"]) and bool(
        reply_text(reply)
    )


def text_opinion(text: str) -> dict:
    """The `submit_opinion` fields of a prose reply: a JSON object of those fields if the text
    is one (some models print the call instead of making it), else the narrative and the tag
    on its last line (chat_wire.TEXT_ANSWER asks for it). Raises InvalidReply when neither."""
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start : end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("arguments"), dict):
            data = data["arguments"]  # {"name": "submit_opinion", "arguments": {...}}
        if isinstance(data, dict) and set(data) <= set(OPINION_TOOL["input_schema"]["properties"]):
            return data
    found = find_tag(text)
    if found is None:
        raise InvalidReply(
            "the reply neither called submit_opinion nor ended with the tag "
            "[DIRECTION: …] [TIMEFRAME: …] [CONFIDENCE: …]"
        )
    raw = found[1]
    narrative = text[: text.rfind(raw)].strip()
    call = parse_tag(raw)
    if call.parse_status == "abstained":
        return {
            "stance": "neutral",
            "narrative": narrative,
            "abstain": True,
            "abstain_reason": "abstained in prose",
        }
    if call.parse_status != "parsed":
        raise InvalidReply(f"the reply's tag could not be read: {call.parse_error}")
    fields = {
        "stance": lean(call.ticker, call.direction),
        "narrative": narrative,
        "abstain": False,
        "ticker": call.ticker,
        "direction": call.direction,
        "timeframe": call.timeframe,
        "confidence": call.confidence,
    }
    return fields | ({"relative_to": call.relative_to} if call.relative_to else {})


def reply_text(reply: dict) -> str:
    return "\n".join(b.get("text", "") for b in reply["content"] if b.get("type") == "text").strip()


def memo_problem(text: str, context: CycleContext, opinions: list[Opinion] = ()) -> str | None:
    if not text:
        return "the reply had no text"
    if not re.match(r"#\s+\S", text):
        return "the memo must start with a '# Title' line"
    found = find_tag(text)
    if found is None:
        return "the memo must end with the [DIRECTION: …] [TIMEFRAME: …] [CONFIDENCE: …] tag"
    problem = call_problem(parse_tag(text, pd.Timestamp(context.cycle_ts)), context, opinions)
    if problem:
        return problem
    # What the prose says its figures mean must agree with them (the footer is the code's).
    claims = claim_problems(text, context.as_dict())
    if claims:
        return "the memo's words contradict its figures: " + "; ".join(claims[:3])
    return None


def split_memo(text: str) -> tuple[str, list[str], list[str], str]:
    lines = text.strip().splitlines()
    title = lines[0].lstrip("#").strip()
    rest = "\n".join(lines[1:]).strip()
    _, raw_tag = find_tag(rest)
    before_tag = rest[: rest.rfind(raw_tag)].strip()
    if "**Prediction:**" in before_tag:
        body_text, prediction_text = before_tag.split("**Prediction:**", 1)
    else:
        body_text, prediction_text = before_tag, ""
    return (
        title,
        _paragraphs(body_text),
        _paragraphs(prediction_text) or ["(see the tag)"],
        raw_tag.strip(),
    )


def _paragraphs(text: str) -> list[str]:
    parts = re.split(r"\n\s*\n", text.strip())
    return [p.strip() for p in parts if p.strip() and p.strip() != "---"]


def with_repair(request: dict, reply: dict, problem: str) -> dict:
    """The same request, plus the invalid reply and one request to fix it."""
    assistant = [b for b in reply["content"] if b.get("type") in ("text", "tool_use")]
    follow_up = []
    for b in assistant:
        if b.get("type") == "tool_use":
            follow_up.append(
                {
                    "type": "tool_result",
                    "tool_use_id": b["id"],
                    "is_error": True,
                    "content": f"Invalid: {problem}. Submit a corrected opinion.",
                }
            )
    if not follow_up:
        follow_up = [
            {
                "type": "text",
                "text": f"That reply is invalid: {problem}. "
                "Answer again, following the required format exactly.",
            }
        ]
    assistant = [
        {k: v for k, v in b.items() if k in ("type", "text", "id", "name", "input")}
        for b in assistant
    ] or [{"type": "text", "text": "(empty)"}]
    return {
        **request,
        "messages": [
            *request["messages"],
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": follow_up},
        ],
    }


def assemble_memo(context, opinions, debate, text: str, problem: str | None) -> Memo:
    """The memo as published: the model's text in the seeds' layout with the cycle's header and
    debate footer, or, when it failed validation after its repair, an abstention saying why."""
    if problem:
        body = [
            f"I can't publish a call this cycle: the model's memo failed validation "
            f"after one repair ({problem}). So I abstain, and say so."
        ]
        return abstention_memo(context, opinions, debate, "No Valid Memo This Cycle", body)
    cycle_ts = pd.Timestamp(context.cycle_ts)
    title, body, prediction, tag = split_memo(text)
    call = parse_tag(tag, cycle_ts)
    conviction = call.confidence if call.parse_status == "parsed" else None
    text = render_memo(
        title,
        cycle_ts,
        context.ordinal,
        body,
        prediction,
        tag,
        footer(debate, conviction, opinions),
    )
    return Memo(title, text, tag, call.parse_status == "abstained", None, conviction)
