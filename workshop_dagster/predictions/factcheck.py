"""Check every figure a memo or opinion quotes against the cycle's data.

Models invent numbers; this is where they are caught. Recognized claims:
  "IWM down 1.44%", "META up 2.03%", "QQQ -0.31%", "IWM up 4.77% over five sessions",
  "10Y-2Y at 0.53" / "10Y-2Y spread at 0.53", "Fed Funds at 3.64%", "VIX at 14.18",
  "the 10Y at 4.35%", "the 2Y at 3.82%", "Breadth at 31%", and moves outside the session:
  "IWM down 0.37% after hours", "NVDA up 0.40% pre-market" (the quote's extended-hours move).
A headline cited as '[N2] “...”' is a report, not a claim (`CITED`, `check_citations`).
A claim is supported when it matches the data to the precision it was written with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUM = r"(?P<v>[+\-−]?\d+(?:\.\d+)?)"
TICKER_MOVE = re.compile(
    r"(?<![A-Za-z^])(?P<t>[A-Z]{2,5})(?:\s+is)?\s+(?:(?P<dir>up|down|higher|lower)\s+)?"
    r"(?P<v>[+\-−]?\d+(?:\.\d+)?)%(?P<five>\s+over\s+(?:the\s+)?(?:five|5)\s+sessions|\s+on\s+the\s+week)?"
    r"(?P<ext>\s+(?:after[ -]hours|pre-?market|before\s+the\s+open))?"
)
SERIES = [
    (
        re.compile(rf"10Y\s*[-−–]\s*2Y(?:\s+spread)?(?:\s+(?:at|of|is))?\s+{NUM}", re.I),
        "spread_10y_2y",
        1,
    ),
    (re.compile(rf"Fed\s+Funds(?:\s+rate)?(?:\s+(?:at|of|is))?\s+{NUM}%?", re.I), "fed_funds", 1),
    (re.compile(rf"VIX\s+(?:at|of|is)\s+{NUM}"), "vix_level", 1),
    (re.compile(rf"(?<![-−–\w])10Y(?:\s+yield)?\s+(?:at|of|is)\s+{NUM}%?"), "ust_10y", 1),
    (re.compile(rf"(?<![-−–\w])2Y(?:\s+yield)?\s+(?:at|of|is)\s+{NUM}%?"), "ust_2y", 1),
    (re.compile(rf"[Bb]readth\s+(?:at|of|is)\s+{NUM}%"), "breadth", 100),
]
STOP = {"VIX", "ET", "EST", "EDT", "GDP", "CPI", "FOMC", "AI", "EPS"}


@dataclass
class Claim:
    text: str
    key: str  # e.g. "IWM.change_1d_pct" or "spread_10y_2y"
    value: float
    decimals: int
    actual: float | None = None

    @property
    def supported(self) -> bool:
        if self.actual is None:
            return False
        tolerance = 0.5 * 10 ** (-self.decimals) + 1e-9
        return abs(self.value - round(self.actual, self.decimals)) <= tolerance


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _value(text: str) -> float:
    return float(text.replace("−", "-"))


# A headline cited by its handle and quoted in curly quotes ('[N2] “Tesla sinks 5.3% ...”',
# minds/prompts/house.md) is a report the cycle read, not a figure the voice claims: its numbers
# are not checked against the data; `check_citations` checks it is the headline it names.
CITED = re.compile(r"\[(?P<cite>N\d+)\]\s*“(?P<quote>[^”]*)”")


def extract_claims(text: str) -> list[Claim]:
    claims = []
    text = CITED.sub("[cited]", text or "")
    for m in TICKER_MOVE.finditer(text or ""):
        ticker = m.group("t")
        if ticker in STOP:
            continue
        value = _value(m.group("v"))
        direction = (m.group("dir") or "").lower()
        if direction in ("down", "lower"):
            value = -abs(value)
        elif direction in ("up", "higher"):
            value = abs(value)
        elif not m.group("v").lstrip().startswith(("+", "-", "−")):
            continue  # a bare "IWM 2%" is not a claim about a move
        field = (
            "change_5d_pct"
            if m.group("five")
            else "extended_move_pct"
            if m.group("ext")
            else "change_1d_pct"
        )
        claims.append(Claim(m.group(0), f"{ticker}.{field}", value, _decimals(m.group("v"))))
    for pattern, key, scale in SERIES:
        for m in pattern.finditer(text or ""):
            raw = m.group("v")
            claims.append(
                Claim(
                    m.group(0),
                    key,
                    _value(raw) / scale,
                    _decimals(raw) + (2 if scale == 100 else 0),
                )
            )
    return claims


def check_citations(text: str, headlines: dict[str, str]) -> list[str]:
    """What is wrong with the headlines `text` cites: a handle the cycle did not show, or words
    that are not the headline's (`headlines`: cite -> title)."""
    problems = []
    for m in CITED.finditer(text or ""):
        title = headlines.get(m.group("cite"))
        if title is None:
            problems.append(f"{m.group('cite')} was not among the cycle's headlines")
        elif _plain(m.group("quote")) not in _plain(title):
            problems.append(f"{m.group('cite')} is quoted as {m.group('quote')!r}, not its words")
    return problems


def check_figures(text: str, data: dict[str, float]) -> list[Claim]:
    """Every claim in `text`, with the actual value filled in from `data` (key -> value)."""
    claims = extract_claims(text)
    for claim in claims:
        claim.actual = data.get(claim.key)
    return claims


# The cycle_features columns `cycle_facts` reads.
MACRO_FACTS = ("spread_10y_2y", "fed_funds", "vix_level", "ust_10y", "ust_2y", "breadth")
FACT_COLUMNS = ("ticker", "change_1d_pct", "change_5d_pct", "extended_move_pct", *MACRO_FACTS)


def cycle_facts(features_rows: list[dict]) -> dict[str, float]:
    """The data a cycle's text may quote, keyed as claims are: from its cycle_features rows."""
    facts: dict[str, float] = {}
    for row in features_rows:
        facts[f"{row['ticker']}.change_1d_pct"] = float(row["change_1d_pct"])
        facts[f"{row['ticker']}.change_5d_pct"] = float(row["change_5d_pct"])
        extended = row.get("extended_move_pct")
        if extended is not None and extended == extended:  # NaN: no extended-hours quote
            facts[f"{row['ticker']}.extended_move_pct"] = float(extended)
    if features_rows:
        first = features_rows[0]
        for key in MACRO_FACTS:
            facts[key] = float(first[key])
    return facts


def _plain(text: str) -> str:
    """Words to compare a quote with its headline: one line, straight quotes, lower case."""
    return " ".join(text.replace("“", '"').replace("”", '"').split()).strip(" .").lower()
