"""Requests for the Claude minds, built so that the shared prefix is cacheable and fenced.

Every request of a cycle has the same tools and the same two system blocks: the house rules
(identical across all cycles) and the cycle's data (identical across the minds and the
synthesis of a cycle), each ending in a `cache_control` breakpoint. Only the final user turn
(the persona and the task) differs, so the prefix is byte-identical across the three minds.
Untrusted text (news, lessons) sits inside <untrusted_data> tags, with any tag-like text in it
neutralized so it cannot close the fence and speak as instructions.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from ..market.universe import TICKERS
from ..registry.minds import find
from ..registry.minds import title as mind_title
from .cycle_context import CycleContext
from .types import Opinion, lean

PROMPTS = Path(__file__).parent / "prompts"
CACHE = {"type": "ephemeral"}
OPINION_TOOL = {
    "name": "submit_opinion",
    "description": "Submit this mind's stance, narrative and call (or abstention).",
    "input_schema": {
        "type": "object",
        "properties": {
            "stance": {"type": "string", "enum": ["bullish", "bearish", "neutral"]},
            "narrative": {"type": "string", "description": "One paragraph, quoting the data."},
            "thesis": {"type": "string", "description": "The one-sentence reason for the call."},
            "abstain": {"type": "boolean"},
            "abstain_reason": {"type": "string"},
            "ticker": {"type": "string", "enum": list(TICKERS)},
            "relative_to": {"type": "string", "enum": list(TICKERS)},
            "direction": {"type": "string", "enum": ["up", "down", "flat"]},
            "timeframe": {"type": "string", "description": "e.g. 24h, 48h, 1w"},
            "confidence": {"type": "number", "minimum": 0.5, "maximum": 1},
        },
        "required": ["stance", "narrative", "abstain"],
        "additionalProperties": False,
    },
}


@lru_cache(maxsize=32)
def prompt(name: str, personas: Path | None = None) -> str:
    """A mind's persona (its registered prompt file), or the synthesis's, or the house rules;
    a variant's `personas` folder (variants.yaml) replaces any of them it holds a file for."""
    if personas is not None and (personas / f"{name}.md").is_file():
        return (personas / f"{name}.md").read_text(encoding="utf-8").strip()
    mind = find(name)
    path = mind.prompt_path if mind else PROMPTS / f"{name}.md"
    return path.read_text(encoding="utf-8").strip()


def prompts_digest(personas: Path | None = None) -> str:
    """The first 12 hex digits of the SHA-256 of every prompt a cycle's requests are made of
    (the house rules, each mind's persona, the synthesis's), as `personas` changes them: what
    names a prompt or persona change when a sealed cycle is asked again."""
    import hashlib

    from ..registry.minds import mind_names

    names = ["house", *mind_names(), "synthesis"]
    text = "\n\x00".join(f"{n}\n{prompt(n, personas)}" for n in names)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def fence(text: str) -> str:
    """Untrusted text, made unable to open or close tags of its own."""
    return str(text).replace("<", "‹").replace(">", "›")


def cycle_data(context: CycleContext) -> str:
    """The cycle's data block: identical for every request of the cycle."""
    doc = context.as_dict()
    trusted = {
        k: doc[k]
        for k in ("cycle_key", "cycle_ts", "ordinal", "regime", "market", "track_record", "rules")
    }
    news = (
        "\n".join(
            f"- [{n['cite']}] {fence(n['visible_from'])} {fence(n['source'])}: "
            f"{fence(n['title'])} ({fence(n['tickers']) or 'market'})"
            for n in context.news
        )
        or "(no news)"
    )
    lessons = (
        "\n".join(
            f"- {fence(lesson.known_at)} ({fence(lesson.source)}): {fence(lesson.text)}"
            for lesson in context.lessons
        )
        or "(none yet)"
    )
    return (
        "Cycle data (all of it known at the cycle time; nothing later):\n"
        f"```json\n{json.dumps(trusted, sort_keys=True, indent=1)}\n```\n\n"
        '<untrusted_data kind="news">\n' + news + "\n</untrusted_data>\n\n"
        '<untrusted_data kind="lessons">\n' + lessons + "\n</untrusted_data>"
    )


def _system(context: CycleContext, personas: Path | None = None) -> list[dict]:
    return [
        {"type": "text", "text": prompt("house", personas), "cache_control": CACHE},
        {"type": "text", "text": cycle_data(context), "cache_control": CACHE},
    ]


def mind_request(
    mind: str, context: CycleContext, model: str, max_tokens: int, personas: Path | None = None
) -> dict:
    return {
        "model": model,
        "max_tokens": max_tokens,
        "tools": [OPINION_TOOL],
        "tool_choice": {"type": "tool", "name": "submit_opinion"},
        "system": _system(context, personas),
        "messages": [{"role": "user", "content": prompt(mind, personas)}],
    }


def synthesis_request(
    context: CycleContext,
    opinions: list[Opinion],
    debate: str,
    model: str,
    max_tokens: int,
    personas: Path | None = None,
) -> dict:
    minds = []
    for o in opinions:
        title = mind_title(o.mind)
        if o.abstained:
            minds.append(f"{title}: abstains ({fence(o.abstain_reason)}).\n{fence(o.narrative)}")
        else:
            subject = f"{o.ticker} relative to {o.relative_to}" if o.relative_to else o.ticker
            minds.append(
                f"{title}: {o.stance}; calls {subject} {o.direction} over {o.timeframe} "
                f"at {o.confidence:.2f}.\n{fence(o.narrative)}"
            )
    user = (
        prompt("synthesis", personas)
        + f"\n\nDebate label: {debate}.\n\n"
        + record_facts(context, opinions)
        + '\n\n<untrusted_data kind="minds">\n'
        + "\n\n".join(minds)
        + "\n</untrusted_data>"
    )
    return {
        "model": model,
        "max_tokens": max_tokens,
        "tools": [OPINION_TOOL],
        "system": _system(context, personas),
        "messages": [{"role": "user", "content": user}],
    }


def record_facts(context: CycleContext, opinions: list[Opinion]) -> str:
    """What the record says about each call (computed by code, outside the untrusted fence)."""
    from ..registry.minds import mind_names
    from .calibration import reliable_minds
    from .synthesis import candidates

    regime = context.regime.label.replace("_", "-")
    reliable = reliable_minds(context, mind_names())
    lines = [
        "Reliable in "
        + regime
        + ": "
        + (", ".join(mind_title(m) for m, *_ in reliable) if reliable else "no mind yet")
        + "."
    ]
    for c in candidates(context, opinions):
        cal = c.calibrated
        lines.append(
            f"{mind_title(c.opinion.mind)}'s call: calibrated probability {cal.probability:.2f} "
            f"(stated {cal.stated:.2f}; {cal.explain()})"
            + (f"; RULED OUT: {c.rule['rule_text']}" if c.rule else "")
            + "."
        )
    return "\n".join(lines)


def prompt_hash(request: dict) -> str:
    """What the replay cache is keyed on: every byte that shapes the answer."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class InvalidReply(ValueError):
    """A reply that does not meet the contract; the message says what is wrong."""


def opinion_from_tool_input(mind: str, data: dict) -> Opinion:
    """Validate a submit_opinion payload into an Opinion, or raise InvalidReply."""
    if not isinstance(data, dict):
        raise InvalidReply("submit_opinion input is not an object")
    extra = set(data) - set(OPINION_TOOL["input_schema"]["properties"])
    if extra:
        raise InvalidReply(f"unexpected fields {sorted(extra)}")
    narrative = data.get("narrative")
    if not isinstance(narrative, str) or not narrative.strip():
        raise InvalidReply("narrative is missing")
    if data.get("abstain") is True:
        return Opinion(
            mind=mind,
            stance="neutral",
            narrative=narrative.strip(),
            abstained=True,
            abstain_reason=str(data.get("abstain_reason") or "no reason given"),
        )
    ticker, rel = data.get("ticker"), data.get("relative_to")
    if ticker not in TICKERS:
        raise InvalidReply(f"ticker {ticker!r} is not in the universe")
    if rel is not None and (rel not in TICKERS or rel == ticker):
        raise InvalidReply(f"relative_to {rel!r} is not another ticker of the universe")
    direction = data.get("direction")
    if direction not in ("up", "down", "flat"):
        raise InvalidReply(f"direction {direction!r} is not up, down or flat")
    conf = data.get("confidence")
    if not isinstance(conf, int | float) or not 0 <= conf <= 1:
        raise InvalidReply(f"confidence {conf!r} is not a number in [0, 1]")
    if conf < 0.5:
        raise InvalidReply(
            f"confidence {conf} is under a coin: a call names the direction you think likelier, "
            "so state the other side at one minus that, or abstain"
        )
    from ..predictions.tags import TagError, parse_timeframe

    timeframe = str(data.get("timeframe") or "")
    try:
        parse_timeframe(timeframe, None)
    except TagError as exc:
        raise InvalidReply(f"timeframe: {exc}") from exc
    return Opinion(
        mind=mind,
        stance=lean(ticker, direction),
        narrative=narrative.strip(),
        thesis=str(data.get("thesis") or "").strip(),
        ticker=ticker,
        relative_to=rel,
        direction=direction,
        timeframe=timeframe,
        confidence=round(float(conf), 2),
    )
