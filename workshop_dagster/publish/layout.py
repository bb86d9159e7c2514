"""The seeds' memo layout, in one place: render it from its parts, parse it back into them.

    # Title
    *Workshop · 2026-03-31 02:16:01*
    **March 30, 2026 — 7:15 PM — Cycle 280**
    ---
    body paragraphs
    ---
    **Prediction:**
    prediction paragraphs
    [DIRECTION: …] [TIMEFRAME: …] [CONFIDENCE: …]
    ---
    *Debate: … | Conviction: …% | Macro: …% | Flow: …% | Contrarian: …%*
    ---                                  (posts only)
    Permanent link: …

(with blank lines exactly where the seeds have them). The synthesis writes memos with
`render`, posts add the permanent link and, once scored, a marked outcome section after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

OUTCOME_MARKER = "<!-- outcome: appended when the call was scored; the memo above is unchanged -->"


@dataclass
class MemoParts:
    title: str
    written_at: str  # "2026-03-31 02:16:01"
    header: str  # "**March 30, 2026 — 7:15 PM — Cycle 280**"
    body: list[str]
    prediction: list[str]
    tag_line: str
    footer: str
    permalink: str | None = None
    outcome: list[str] = field(default_factory=list)


def cycle_header(cycle_ts: pd.Timestamp, ordinal: int) -> str:
    hour = cycle_ts.strftime("%I").lstrip("0")
    return (
        f"**{cycle_ts.strftime('%B')} {cycle_ts.day}, {cycle_ts.year} — "
        f"{hour}:{cycle_ts.strftime('%M %p')} ET — Cycle {ordinal}**"
    )


def render(parts: MemoParts) -> str:
    lines = [
        f"# {parts.title}",
        "",
        f"*Workshop · {parts.written_at}*",
        "",
        parts.header,
        "",
        "---",
        "",
        "\n\n".join(parts.body),
        "",
        "---",
        "",
        "**Prediction:**",
        "",
        "\n\n".join(parts.prediction),
        "",
        parts.tag_line,
        "",
        "---",
        parts.footer,
    ]
    if parts.permalink:
        lines += ["", "---", f"Permanent link: {parts.permalink}"]
    if parts.outcome:
        lines += ["", OUTCOME_MARKER, "", "\n\n".join(parts.outcome)]
    return "\n".join(lines) + "\n"


SECTION_RE = re.compile(
    r"^# (?P<title>.+)\n\n\*Workshop · (?P<written>[^*]+)\*\n\n(?P<header>\*\*.+\*\*)\n\n---\n\n"
    r"(?P<body>.*?)\n\n---\n\n\*\*Prediction:\*\*\n\n(?P<prediction>.*?)\n\n(?P<tag>\[DIRECTION:[^\n]*)"
    r"\n\n---\n(?P<footer>\*Debate:[^\n]*\*)\n"
    r"(?:\n---\nPermanent link: (?P<permalink>[^\n]+)\n)?",
    re.S,
)


def parse(text: str) -> MemoParts:
    """The parts of a memo or post in the seeds' layout; raises ValueError if it is not one."""
    m = SECTION_RE.match(text)
    if not m:
        raise ValueError("not in the seeds' memo layout")
    return MemoParts(
        title=m.group("title"),
        written_at=m.group("written"),
        header=m.group("header"),
        body=m.group("body").split("\n\n"),
        prediction=m.group("prediction").split("\n\n"),
        tag_line=m.group("tag"),
        footer=m.group("footer"),
        permalink=m.group("permalink"),
    )
