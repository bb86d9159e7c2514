"""Check what a memo says its figures mean: every claim of direction or size against the data.

The fact check (`factcheck`) holds each quoted number to the data; it passed "Yields are
falling hard: TLT down 0.25%" with TLT down and the 10-year barely moved, because the number
was right and the words were not. This check reads the words. Recognized claims (the forms the
offline voices write and the prompts ask of the models):

- yields: "yields are falling" / "rising" / "climbing" (optionally "hard", "fast",
  "sharply"): the sign of the 10-year's change over its last five prints, and at least
  `BIG_YIELD_BP` for the intensity; "the 10Y has fallen 18bp": its sign and size;
- a ticker's verb: "TLT is rallying", "TSLA sliding", "NVDA plunging": the sign of its day's
  move, and for the strong verbs (surging, jumping, plunging, tumbling, sinking) at least
  `BIG_MOVE_PCT` for its kind;
- the regime: "I'm reading this cycle as risk-off", "the tape reads risk-on": the cycle's label;
- volatility: "volatility is elevated" (VIX at least `VIX_ELEVATED`), "calm" (at most
  `VIX_CALM`), "rising"/"falling" (the VIX's day), "VIX up 1.20 points": its sign and size;
- breadth: "breadth is broad" / "broad participation" (at least `BROAD`), "thin"/"narrow" (at
  most `THIN`), "middling" (between);
- the debate footer ("*Debate: aligned_bearish |"): the label of the minds' calls.

A claim about data the cycle does not have (no yield change known) is a problem too: a memo may
not assert what it cannot see. Headlines cited as '[N2] “...”' are reports, not claims.
`bare_numbers` lists decimals quoted without a unit, for the memo's readers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..market.universe import ticker_kind
from .factcheck import CITED

BIG_YIELD_BP = 15.0  # "falling hard": the 10-year moved this much over five prints
BIG_MOVE_PCT = {"index": 1.0, "sector": 1.5, "mega_cap": 2.0, "volatility": 10.0}
VIX_ELEVATED, VIX_CALM = 20.0, 16.0
BROAD, THIN = 0.6, 0.4

UP_WORDS = {"rising", "climbing", "higher", "up", "rallying", "rallies", "rallied", "rises"}
UP_WORDS |= {"jumping", "surging", "soaring", "climbed", "risen", "rose", "gaining"}
DOWN_WORDS = {"falling", "fall", "dropping", "sliding", "easing", "lower", "down", "fallen"}
DOWN_WORDS |= {"dropped", "fell", "sinking", "tumbling", "plunging", "slumping", "slid"}
STRONG = {"hard", "fast", "sharply", "jumping", "surging", "soaring", "sinking", "tumbling"}
STRONG |= {"plunging", "slumping"}

YIELDS = re.compile(
    r"\b(?:yields?|long rates)\s+(?:are\s+|is\s+|have\s+been\s+|keep\s+)?(?:still\s+)?"
    r"(?P<verb>falling|dropping|sliding|easing|rising|climbing)"
    r"(?:\s+(?P<size>hard|fast|sharply))?",
    re.I,
)
TEN_YEAR_MOVE = re.compile(
    r"\b10Y\s+has\s+(?P<verb>fallen|dropped|climbed|risen|moved)\s+(?P<v>[+\-−]?\d+)\s*bp",
    re.I,
)
TICKER_VERB = re.compile(
    r"(?<![A-Za-z^])(?P<t>[A-Z]{2,5})\s+(?:is\s+|keeps\s+)?(?:still\s+)?"
    r"(?P<verb>rallying|rallies|rising|climbing|jumping|surging|soaring|falling|sliding|"
    r"dropping|sinking|tumbling|plunging|slumping)\b"
)
REGIME = re.compile(
    r"(?:reading this cycle as|the tape reads|the regime is|the tape is)\s+(?:a\s+)?"
    r"(?P<r>risk-on|risk-off|transition)",
    re.I,
)
VOLATILITY = re.compile(
    r"\b(?:volatility|VIX)\s+is\s+(?:still\s+)?(?P<w>elevated|high|low|calm|subdued|rising|"
    r"climbing|falling|easing)",
    re.I,
)
VIX_POINTS = re.compile(r"\bVIX\s+(?P<dir>up|down)\s+(?P<v>\d+(?:\.\d+)?)\s+points", re.I)
BREADTH = re.compile(
    r"\b(?:(?:breadth|participation)\s+is\s+(?P<w1>broad|strong|thin|weak|narrow|middling)|"
    r"(?P<w2>broad|thin|narrow)\s+(?:breadth|participation))",
    re.I,
)
SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
# The verbs TICKER_VERB reads, by a stem each contains (the cheap test before the scan).
VERB_STEMS = ("rall", "rising", "climbing", "jumping", "surging", "soaring", "falling")
VERB_STEMS += ("sliding", "dropping", "sinking", "tumbling", "plunging", "slumping")
DEBATE = re.compile(r"\*Debate:\s*(?P<label>[a-z_]+)")
# A decimal with no unit after it (and not a price, a VIX level, a date or a time).
DECIMAL = re.compile(
    r"(?<![\d$.:/\-])(?P<n>\d+\.\d+)(?!\.?\d)(?![:%])(?!\s*(?:bp|points?|percentage|times|out of))",
    re.I,
)


def claim_problems(text: str, doc: Mapping[str, Any], debate_label: str | None = None) -> list[str]:
    """What `text` claims that its cycle's data (`doc`: the context document's `market` and
    `regime`) contradicts, one sentence each; [] when every claim agrees."""
    text = CITED.sub("[cited]", text or "")
    sentences = [(x, x.lower()) for x in SENTENCE.split(text)]

    def where(*words: str) -> str:
        """The sentences that hold one of `words`: a pattern scans those only."""
        return "\n".join(x for x, low in sentences if any(w in low for w in words))

    market, regime = doc["market"], doc["regime"]
    tickers = market["tickers"]
    problems = []
    d10 = market.get("ust_10y_change_5obs_bp")
    # Each pattern scans only the sentences that hold its words (a year of memos and opinions
    # is 20,000 texts: the whole-text scans were 5 s of the loop's year, docs/performance.md).
    for m in YIELDS.finditer(where("yield", "long rates")):
        verb, size = m.group("verb").lower(), (m.group("size") or "").lower()
        if d10 is None:
            problems.append(f"{m.group(0)!r}: the cycle knows no change in the 10-year yield")
            continue
        if (verb in UP_WORDS) != (d10 > 0) or d10 == 0:
            problems.append(f"{m.group(0)!r}, but the 10Y moved {d10:+.0f}bp over five prints")
        elif size and abs(d10) < BIG_YIELD_BP:
            problems.append(
                f"{m.group(0)!r}: {abs(d10):.0f}bp over five prints is not {size} "
                f"(that takes {BIG_YIELD_BP:.0f}bp)"
            )
    for m in TEN_YEAR_MOVE.finditer(where("10y has")):
        said = float(m.group("v").replace("−", "-"))
        verb = m.group("verb").lower()
        if verb in DOWN_WORDS:
            said = -abs(said)
        elif verb in UP_WORDS:
            said = abs(said)
        if d10 is None or round(d10) != round(said):
            problems.append(f"{m.group(0)!r}, but the 10Y moved {d10}bp over five prints")
    for m in TICKER_VERB.finditer(where(*VERB_STEMS)):
        ticker, verb = m.group("t"), m.group("verb").lower()
        row = tickers.get(ticker)
        if row is None:
            continue  # not a ticker of the universe ("CPI", "FOMC")
        change = float(row["change_1d_pct"])
        if (verb in UP_WORDS) != (change > 0) or change == 0:
            problems.append(f"{m.group(0)!r}, but {ticker} is {change:+.2f}% on the day")
        elif verb in STRONG and abs(change) < BIG_MOVE_PCT[ticker_kind(ticker)]:
            problems.append(
                f"{m.group(0)!r}: {change:+.2f}% is not {verb} for {ticker} (that takes "
                f"{BIG_MOVE_PCT[ticker_kind(ticker)]:.1f}%)"
            )
    for m in REGIME.finditer(where("risk-", "transition")):
        said = m.group("r").lower().replace("-", "_")
        if said != regime["label"]:
            problems.append(f"{m.group(0)!r}, but the cycle's regime is {regime['label']}")
    vix, dvix = float(market["vix_level"]), float(market["vix_change_1d"])
    for m in VOLATILITY.finditer(where("volatility is", "vix is")):
        word = m.group("w").lower()
        wrong = {
            "elevated": vix < VIX_ELEVATED,
            "high": vix < VIX_ELEVATED,
            "low": vix > VIX_CALM,
            "calm": vix > VIX_CALM,
            "subdued": vix > VIX_CALM,
            "rising": dvix <= 0,
            "climbing": dvix <= 0,
            "falling": dvix >= 0,
            "easing": dvix >= 0,
        }[word]
        if wrong:
            problems.append(f"{m.group(0)!r}, but VIX is at {vix:.2f} ({dvix:+.2f} points)")
    for m in VIX_POINTS.finditer(where("points")):
        said = float(m.group("v")) * (1 if m.group("dir").lower() == "up" else -1)
        if abs(said - dvix) > 0.005 + 1e-9 and round(said, 1) != round(dvix, 1):
            problems.append(f"{m.group(0)!r}, but VIX moved {dvix:+.2f} points")
    breadth = float(market["breadth"])
    for m in BREADTH.finditer(where("breadth is", "participation", "breadth")):
        word = (m.group("w1") or m.group("w2")).lower()
        wrong = {
            "broad": breadth < BROAD,
            "strong": breadth < BROAD,
            "thin": breadth > THIN,
            "weak": breadth > THIN,
            "narrow": breadth > THIN,
            "middling": not THIN < breadth < BROAD,
        }[word]
        if wrong:
            problems.append(f"{m.group(0)!r}, but breadth is {100 * breadth:.0f}%")
    if debate_label is not None:
        for m in DEBATE.finditer(where("*debate")):
            if m.group("label") != debate_label:
                problems.append(
                    f"the footer's debate is {m.group('label')}, but the minds' calls make "
                    f"{debate_label}"
                )
    return problems


def bare_numbers(text: str) -> list[str]:
    """The decimals `text` quotes without a unit ("breadth at 0.69"), outside the tag line,
    the footer, cited headlines, prices ("$657.56") and VIX levels ("VIX at 24.54")."""
    found = []
    for line in (text or "").splitlines():
        if line.startswith(("[DIRECTION", "*Debate", "*Workshop", "**")) or "[DIRECTION:" in line:
            continue
        plain = CITED.sub("[cited]", line)
        plain = re.sub(r"\bVIX\s+(?:is\s+)?(?:at|of|is)\s+\d+(?:\.\d+)?", "VIX level", plain)
        found += [m.group("n") for m in DECIMAL.finditer(plain)]
    return found
