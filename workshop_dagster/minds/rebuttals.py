"""The minds answer each other: after the three have made their cases, each says where it
stands against the strongest mind that disagrees, with the evidence of its own lens.

The seeds' memos weigh what each mind argued ("The Contrarian raised something that cuts
deeper than the other two minds want to admit"); a roll-call of calls gives the synthesis
nothing to weigh. Offline and deterministic: the answer is a sentence appended to the mind's
narrative, quoting only figures the fact check and the claim check read.
"""

from __future__ import annotations

from collections.abc import Callable

from ..registry.minds import title as mind_title
from .cycle_context import CycleContext
from .offline import most_stretched, move
from .types import Opinion


def call_words(o: Opinion) -> str:
    """'SPY down over 48h', 'IWM up against QQQ over 48h'."""
    subject = f"{o.ticker} {o.direction} against {o.relative_to}" if o.relative_to else None
    return f"{subject or f'{o.ticker} {o.direction}'} over {o.timeframe}"


def disagree(a: Opinion, b: Opinion) -> bool:
    """Two calls that cannot both be right: opposite directions on the same subject, or
    opposite leans on risk."""
    if a.abstained or b.abstained:
        return False
    if (a.ticker, a.relative_to) == (b.ticker, b.relative_to):
        return a.direction != b.direction
    return {a.stance, b.stance} == {"bullish", "bearish"}


def first_clash(opinions: list[Opinion]) -> tuple[Opinion, Opinion] | None:
    """The first two calls, in the minds' order, that cannot both be right; None when none
    clash."""
    callers = [o for o in opinions if not o.abstained]
    return next(
        ((a, b) for i, a in enumerate(callers) for b in callers[i + 1 :] if disagree(a, b)), None
    )


def _macro_lens(context: CycleContext) -> str:
    m = context.market
    d10 = m.ust_10y_change_5obs_bp
    rates = (
        f"the 10Y has moved {d10:+.0f}bp over its last five prints"
        if d10 is not None
        else f"the 10Y is at {m.ust_10y:.2f}%"
    )
    return f"{rates} and VIX is at {m.vix_level:.2f}"


def _flow_lens(context: CycleContext) -> str:
    m = context.market
    return (
        f"breadth is at {100 * m.breadth:.0f}% and the size spread over the week is "
        f"{m.size_spread_5d:+.2f} percentage points"
    )


def _contrarian_lens(context: CycleContext) -> str:
    z, ticker, row, _ = most_stretched(context)
    return (
        f"the most stretched move on the board, {move(ticker, row['change_5d_pct'], True)}, "
        f"is {z:.1f} times a normal week"
    )


LENS: dict[str, Callable[[CycleContext], str]] = {
    "macro": _macro_lens,
    "flow": _flow_lens,
    "contrarian": _contrarian_lens,
}
# How each mind answers a call it disagrees with, and one it cannot second.
AGAINST = {
    "macro": "I don't buy it: {lens}, and rates lead the tape, not the other way round.",
    "flow": "The tape doesn't back that: {lens}. Until the flow turns, I stay with it.",
    "contrarian": "That is the consensus I lean against: {lens}.",
}
CANNOT_SECOND = {
    "macro": "I can't second it: {lens}, and that gives me no edge either way.",
    "flow": "I can't second it: {lens}, not a flow I can lean on.",
    "contrarian": "I can't fade it either: {lens}, and that is not stretched enough.",
}
AGREE = {
    "macro": "{other} gets to the same side from the tape; I get there from rates. Two lenses "
    "agreeing is worth more than one, but not twice as much.",
    "flow": "{other} gets to the same side from its own lens; the flow agrees, for now.",
    "contrarian": "{other} and I agree, which makes me uneasy: agreement is how a crowded "
    "trade starts.",
}


def answer(o: Opinion, others: list[Opinion], context: CycleContext) -> str:
    """What `o`'s mind says to the others: against the strongest that disagrees, why it cannot
    second a call when it abstains, or that it agrees; "" when there is nothing to answer."""
    lens_of = LENS.get(o.mind)
    if lens_of is None:  # a mind added to the registry without a lens here: says nothing more
        return ""
    lens = lens_of(context)
    callers = sorted(
        (x for x in others if not x.abstained), key=lambda x: (-(x.confidence or 0), x.mind)
    )
    if not callers:
        return ""
    against = [x for x in callers if disagree(o, x)]
    if against:
        x = against[0]
        return f"{mind_title(x.mind)} argues {call_words(x)}. " + AGAINST[o.mind].format(lens=lens)
    if o.abstained:
        x = callers[0]
        return f"{mind_title(x.mind)} argues {call_words(x)}. " + CANNOT_SECOND[o.mind].format(
            lens=lens
        )
    same = [x for x in callers if x.stance == o.stance and o.stance != "neutral"]
    if same:
        return AGREE[o.mind].format(other=mind_title(same[0].mind))
    return ""


def answered(opinions: list[Opinion], context: CycleContext) -> list[Opinion]:
    """The opinions with each mind's answer to the others appended to its narrative (what the
    mind calls is unchanged)."""
    out = []
    for o in opinions:
        reply = answer(o, [x for x in opinions if x is not o], context)
        if reply:
            from dataclasses import replace

            o = replace(o, narrative=f"{o.narrative} {reply}")
        out.append(o)
    return out
