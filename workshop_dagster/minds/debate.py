"""The debate label: a deterministic summary of how the three calls line up."""

from __future__ import annotations

from ..registry.minds import mind_names
from .types import Opinion


def debate_label(opinions: list[Opinion]) -> str:
    """aligned_bullish | aligned_bearish | split | lone_bullish | lone_bearish | neutral |
    all_abstain."""
    leans = [o.stance for o in opinions if not o.abstained]
    directional = [x for x in leans if x != "neutral"]
    if not leans:
        return "all_abstain"
    if not directional:
        return "neutral"
    if len(set(directional)) > 1:
        return "split"
    side = directional[0]
    return f"aligned_{side}" if len(directional) >= 2 else f"lone_{side}"


def debate_row(opinions: list[Opinion]) -> dict:
    by_mind = {o.mind: o for o in opinions}
    row = {"label": debate_label(opinions)}
    for mind in mind_names():
        o = by_mind.get(mind)
        row[f"{mind}_confidence"] = None if o is None or o.abstained else o.confidence
        row[f"{mind}_stance"] = None if o is None else o.stance
    return row
