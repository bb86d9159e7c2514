"""The synthesis: weigh the minds by their record in this regime, heed the rules, write the memo.

The memo follows the seeds' layout: title, `*Workshop · time*`, the bold cycle header, a rule,
first-person reasoning that cites the record and the rules, a rule, **Prediction:**, the call in
words, the tag line, a rule, and the debate footer.

(Over 350 lines: choosing the call, binding a memo to the minds' calls (`call_problem`, shared
by the model engines) and the seeds' layout, one decision read top to bottom.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..predictions.claim_check import claim_problems
from ..predictions.scoring import COIN
from ..predictions.standing_calls import standing_on, when
from ..predictions.tags import ParsedCall, format_tag, parse_timeframe
from ..predictions.verdicts import pct
from ..publish.layout import MemoParts, cycle_header, render
from ..registry.minds import mind_names
from ..registry.minds import title as mind_title
from . import memo_prose as prose
from .calibration import RELIABLE_N, Calibrated, base_rate, calibrate, reliable_minds
from .context import active_rule
from .cycle_context import CycleContext
from .debate import debate_label
from .offline import move
from .repeats import synthesis_rule
from .types import DEFENSIVE, Memo, Opinion

MIN_PROBABILITY = COIN  # a call the record rates below a coin flip is not made
ABSTAIN_TAG = "[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0.00]"
CONFIDENCE_ROUNDING = 0.005  # the tag states two decimals


@dataclass(frozen=True)
class Candidate:
    """A mind's call as the synthesis may weigh it: its calibrated probability on the record
    known at the cycle, and the active rule that rules it out, if any."""

    opinion: Opinion
    calibrated: Calibrated
    hours: float
    rule: dict | None


def candidates(context: CycleContext, opinions: list[Opinion]) -> list[Candidate]:
    """Every call a mind made this cycle, with its calibrated probability and ruling rule
    (the synthesis's own rules, then the mind's)."""
    cycle_ts = pd.Timestamp(context.cycle_ts)
    out = []
    for o in opinions:
        if o.abstained:
            continue
        hours, _ = parse_timeframe(o.timeframe, cycle_ts)
        rule = (
            synthesis_rule(o)
            or active_rule(context, "synthesis", o.ticker, o.relative_to, hours)
            or active_rule(context, o.mind, o.ticker, o.relative_to, hours)
        )
        out.append(Candidate(o, calibrate(context, o.mind, o.confidence, o.direction), hours, rule))
    return out


def call_problem(call: ParsedCall, context: CycleContext, opinions: list[Opinion]) -> str | None:
    """Why the synthesis may not publish `call`, or None. A published call is an abstention, or
    a call a mind made this cycle (subject, direction, timeframe), not ruled out by an active
    rule, at that call's calibrated probability (within rounding), which is at least a coin
    flip. Whatever a memo's prose says, nothing else can reach the record."""
    if call.parse_status == "abstained":
        return None
    if call.parse_status != "parsed":
        return f"the tag does not parse: {call.parse_error}"
    same = [
        c
        for c in candidates(context, opinions)
        if (c.opinion.ticker, c.opinion.relative_to, c.opinion.direction)
        == (call.ticker, call.relative_to, call.direction)
        and abs(c.hours - call.timeframe_hours) < 1e-6
    ]
    if not same:
        made = [
            f"{c.opinion.subject} {c.opinion.direction} over {c.opinion.timeframe}"
            for c in candidates(context, opinions)
        ]
        return (
            f"the call ({call.subject} {call.direction} over {call.timeframe}) is not one the "
            "minds made; make one of theirs ("
            + ("; ".join(made) if made else "they made none")
            + ") or abstain"
        )
    allowed = [c for c in same if c.rule is None]
    if not allowed:
        return (
            f"the call breaks an active rule ({same[0].rule['rule_text']}); "
            "make another call or abstain"
        )
    probabilities = sorted({round(c.calibrated.probability, 2) for c in allowed})
    if max(probabilities) < MIN_PROBABILITY:
        return f"the record rates that call at {max(probabilities):.2f}, below a coin flip: abstain"
    if call.confidence < MIN_PROBABILITY:
        return (
            f"CONFIDENCE {call.confidence:.2f} is under 0.5: it is the probability that the call "
            "is right, and a call is the likelier direction; state its calibrated probability "
            "or abstain"
        )
    probabilities = [p for p in probabilities if p >= MIN_PROBABILITY]
    if not any(abs(call.confidence - p) <= CONFIDENCE_ROUNDING for p in probabilities):
        return (
            f"CONFIDENCE {call.confidence:.2f} is not the call's calibrated probability "
            f"({' or '.join(f'{p:.2f}' for p in probabilities)}); state that number"
        )
    return None


def footer(debate: str, conviction: float | None, opinions: list[Opinion]) -> str:
    def pct(x):
        return "—" if x is None else f"{round(100 * x)}%"

    conf = {o.mind: (None if o.abstained else o.confidence) for o in opinions}
    minds = "".join(f" | {mind_title(m)}: {pct(conf.get(m))}" for m in mind_names())
    return f"*Debate: {debate} | Conviction: {pct(conviction)}{minds}*"


def written_line(cycle_ts: pd.Timestamp) -> str:
    """The memo's '*Workshop · …*' time: the cycle's minute in UTC (a memo is written at its
    cycle, so a re-run writes the same line)."""
    utc = cycle_ts.tz_localize("America/New_York").tz_convert("UTC").tz_localize(None)
    return f"{utc:%Y-%m-%d %H:%M:%S} UTC"


def render_memo(
    title: str,
    cycle_ts: pd.Timestamp,
    ordinal: int,
    body: list[str],
    prediction: list[str],
    tag_line: str,
    footer_line: str,
) -> str:
    return render(
        MemoParts(
            title,
            written_line(cycle_ts),
            cycle_header(cycle_ts, ordinal),
            body,
            prediction,
            tag_line,
            footer_line,
        )
    )


def _standing_line(context: CycleContext, o: Opinion, published: float) -> str:
    """What the published call is to the synthesis's own standing call on its subject: held
    (a restatement, counted once from its own cycle), replaced (a flip), or nothing (new)."""
    found = standing_on(context.standing, "synthesis", o.ticker, o.relative_to, o.direction)
    if found is None:
        return ""
    row, same = found
    then = (
        f"{row['subject']} {row['direction']} over {row['timeframe']} at "
        f"{100 * row['confidence']:.0f}%"
    )
    if same:
        return (
            f"I hold my call of {when(row['since'])} ({then}), standing until {row['until']}: "
            f"nothing since turns it, {mind_title(o.mind)} still makes it, and I restate it at "
            f"{100 * published:.0f}%. It counts once, from the cycle I made it."
        )
    return (
        f"This replaces my call of {when(row['since'])} ({then}): {mind_title(o.mind)} now "
        "calls the other way, and my record backs the turn; the earlier call is still scored at "
        "its own horizon."
    )


def synthesize(context: CycleContext, opinions: list[Opinion], debate: str) -> Memo:
    """Choose the call the record supports, or abstain, and write the memo that argues it; a
    draft whose words contradict its figures (`claim_check`) is never published: the memo
    says so and abstains."""
    memo = _synthesize(context, opinions, debate)
    problems = claim_problems(memo.body, context.as_dict(), debate_label(opinions))
    if not problems:
        return memo
    return _refused(context, opinions, debate, problems)


def _synthesize(context: CycleContext, opinions: list[Opinion], debate: str) -> Memo:
    cycle_ts = pd.Timestamp(context.cycle_ts)
    regime_name = context.regime.label.replace("_", "-")
    weighed = candidates(context, opinions)
    blocked = [(c.opinion, c.rule) for c in weighed if c.rule]
    allowed = [(c.opinion, c.calibrated) for c in weighed if not c.rule]
    reliable = reliable_minds(context, mind_names())
    chosen, why = _choose(allowed, reliable, regime_name)
    if chosen is not None and chosen[1].probability < MIN_PROBABILITY:
        chosen_opinion = None
    else:
        chosen_opinion = chosen[0] if chosen else None

    body = [prose.opening(opinions)]
    body.append(f"{prose.regime_in_words(context)} {_reliability_line(context, reliable)}")
    body.append(_tape(context))
    body.append(prose.wire(context, chosen_opinion))
    probability_of = {c.opinion.mind: c.calibrated.probability for c in weighed}
    ruled_out = {c.opinion.mind: c.rule["rule_text"] for c in weighed if c.rule}
    body.append(prose.weighing(context, opinions, probability_of, ruled_out))
    body.append(_debate_words(debate, opinions))
    # The rules that bear on the calls weighed (a rule bears on a call of its source, horizon
    # and kind of subject: it forbids it), and lessons.
    for o, rule in blocked:
        body.append(
            f"My rules say: {rule['rule_text']} So {mind_title(o.mind)}'s call is out, "
            "however tempting."
        )
    if context.rules and not blocked:
        n = len(context.rules)
        body.append(
            f"None of my {n} active rule{'s' if n != 1 else ''} bears on the calls weighed here."
        )
    if context.lessons:
        lesson = context.lessons[-1]
        body.append(f"The last lesson I wrote myself ({lesson.known_at[:10]}): {lesson.text}")
    if chosen_opinion is None:
        best = None
        if not allowed:
            reason = "every mind abstained or was ruled out"
        else:
            o, cal = chosen or max(allowed, key=lambda c: c[1].probability)
            best = cal.probability
            reason = (
                f"the best call on my record, {mind_title(o.mind)}'s, is worth "
                f"{100 * cal.probability:.0f}%, no better than a coin flip"
            )
        body.append(
            f"I can't predict this one, so I won't: {reason}. An honest abstention "
            "costs nothing; a forced call costs the record. What would make me call: a mind "
            f"whose record beats the base rate in {regime_name}, or a signal strong enough to "
            "clear a coin on the record I have."
        )
        title = prose.title_for(context, None, opinions, best)
        return abstention_memo(context, opinions, debate, title, body)

    o, cal = chosen
    published = cal.probability
    who = mind_title(o.mind)
    if abs(cal.stated - published) < 0.005:
        numbers = f"{who} states {pct(cal.stated)}, and the record backs that number: I publish it."
    else:
        numbers = f"{who} states {pct(cal.stated)}; {cal.explain()}, I publish {pct(published)}."
    body.append(
        f"What decides it for me: {prose.decisive_evidence(context, o)}. I side with "
        f"{who}{why}. {numbers}"
    )
    held = _standing_line(context, o, published)
    if held:
        body.append(held)
    body.append(prose.change_my_mind(context, o))
    subject = f"{o.ticker} relative to {o.relative_to}" if o.relative_to else o.ticker
    words = {"up": "higher", "down": "lower", "flat": "flat"}[o.direction]
    prediction = [f"{subject} closes {words} over the next {o.timeframe}. {o.thesis}".strip()]
    band = (o.band_low_pct, o.band_high_pct) if o.band_low_pct is not None else None
    tag = format_tag(o.direction, o.ticker, o.relative_to, o.timeframe, published, band)
    title = prose.title_for(context, o, opinions, published)
    memo_text = render_memo(
        title,
        cycle_ts,
        context.ordinal,
        body,
        prediction,
        tag,
        footer(debate, published, opinions),
    )
    return Memo(title, memo_text, tag, False, o.mind, published)


def _refused(
    context: CycleContext, opinions: list[Opinion], debate: str, problems: list[str]
) -> Memo:
    """The memo in place of a draft the claim check refused: it names what the draft got
    wrong and makes no call."""
    body = [
        "I wrote a memo this cycle whose words did not agree with its own figures ("
        + "; ".join(problems[:3])
        + "). A memo that contradicts itself is not published, and I make no call on it."
    ]
    title = "My Draft Contradicted Its Own Figures: No Call"
    return abstention_memo(context, opinions, debate, title, body)


def abstention_memo(
    context: CycleContext, opinions: list[Opinion], debate: str, title: str, body: list[str]
) -> Memo:
    """A memo in the seeds' layout that makes no call: `body` its paragraphs."""
    text = render_memo(
        title,
        pd.Timestamp(context.cycle_ts),
        context.ordinal,
        body,
        ["No call this cycle."],
        ABSTAIN_TAG,
        footer(debate, None, opinions),
    )
    return Memo(title, text, ABSTAIN_TAG, True, None, None)


# What each debate label says, in words (minds/debate.py: how the calls lean on risk; a call up
# on a haven, TLT, GLD or VIX, leans away from risk).
DEBATE_WORDS = {
    "aligned_bullish": "every mind with a call leans toward risk",
    "aligned_bearish": "every mind with a call leans away from risk",
    "lone_bullish": "one mind leans toward risk and no other makes a call",
    "lone_bearish": "one mind leans away from risk and no other makes a call",
    "split": "the calls lean opposite ways on risk",
    "neutral": "the calls lean neither way on risk",
    "all_abstain": "no mind makes a call",
}


def _debate_words(debate: str, opinions: list[Opinion]) -> str:
    """The footer's debate label explained: it reads the calls' leans on risk, not their
    tickers (a TLT-up call leans away from risk, whatever its direction says)."""
    havens = sorted({o.ticker for o in opinions if not o.abstained and o.ticker in DEFENSIVE})
    haven = (
        f" ({prose.listed(havens)} up is a bet against risk, down a bet on it)"
        if havens and debate != "all_abstain"
        else ""
    )
    meaning = DEBATE_WORDS.get(debate, debate.replace("_", " "))
    return f"The debate reads {debate}: {meaning}{haven}."


def _choose(candidates, reliable, regime_name: str):
    """Follow the most reliable mind in this regime that makes a call; otherwise the call with
    the best calibrated odds. Returns ((opinion, calibrated) or None, why-in-words)."""
    if not candidates:
        return None, ""
    by_mind = {o.mind: (o, cal) for o, cal in candidates}
    for rank, (mind, _rate, _n, _hits) in enumerate(reliable):
        if mind in by_mind:
            if len(reliable) == 1:
                return by_mind[mind], f", my only reliable mind in {regime_name}"
            if rank == 0:
                return by_mind[mind], f", my most reliable mind in {regime_name}"
            return by_mind[mind], f", the most reliable of my minds in {regime_name} making a call"
    best = max(candidates, key=lambda c: (c[1].probability, c[0].mind))
    return best, ": its call has the best odds on the record"


def _tape(context: CycleContext) -> str:
    """The day's three biggest moves and the levels the macro mind reads (figures the fact
    check verifies), with any move outside the session and any quote that is not fresh."""
    t = context.market.tickers
    m = context.market
    movers = sorted(t.items(), key=lambda kv: -abs(kv[1]["change_1d_pct"]))
    named = [k for k, _ in movers if k != "VIX"][:3]
    return (
        "On the tape, the day's biggest moves: "
        + ", ".join(move(k, t[k]["change_1d_pct"]) for k in named)
        + f". VIX at {m.vix_level:.2f}, the 10Y-2Y spread at {m.spread_10y_2y:.2f} percentage "
        f"points, Fed Funds at {m.fed_funds:.2f}%." + _outside_session(t, named)
    )


def _outside_session(tickers: dict, named: list[str]) -> str:
    """The named movers' moves after hours or before the open, apart from the session's, and
    the tickers quoted at their last close for want of a quote of the minute."""
    text = ""
    extended = [k for k in named if "extended_move_pct" in tickers[k]]
    if extended:
        when = tickers[extended[0]]["extended_session"]
        moves = ", ".join(
            f"{move(k, tickers[k]['extended_move_pct'])} {when.replace('-', ' ') if when == 'after-hours' else when}"
            for k in extended
        )
        text += f" Outside the session: {moves}."
    stale = sorted(k for k, v in tickers.items() if v.get("stale") and "quote" not in v)
    if stale:
        text += f" No quote of the minute for {', '.join(stale)}: I read {'its' if len(stale) == 1 else 'their'} last close."
    old = sorted(k for k, v in tickers.items() if v.get("stale") and "quote" in v)
    if old:
        trades = ", ".join(f"{k} at {tickers[k]['quote'].split(' ')[0]}" for k in old)
        text += f" No recent trade for {', '.join(old)}: I read the last one I can see ({trades})."
    return text


def _reliability_line(context: CycleContext, reliable) -> str:
    regime = context.regime.label.replace("_", "-")
    b = base_rate(context)
    if not reliable:
        return (
            f"My track record says no mind has earned my trust in {regime} yet "
            f"(that takes {RELIABLE_N} scored calls there and a hit rate above the base rate "
            f"of {100 * b:.0f}%), "
            "so I weigh each call by its calibrated odds."
        )
    named = "; ".join(f"{mind_title(m)}, {hits} of {n} right" for m, _rate, n, hits in reliable)
    if len(reliable) == 1:
        mind, _rate, n, hits = reliable[0]
        return (
            f"My track record says {mind_title(mind)} is my only reliable mind in "
            f"{regime} ({hits} of {n} right; base rate {100 * b:.0f}%)."
        )
    return (
        f"My track record says these minds are reliable in {regime}: {named} (base rate "
        f"{100 * b:.0f}%)."
    )
