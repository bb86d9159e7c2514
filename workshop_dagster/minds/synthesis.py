"""The synthesis: weigh the minds by their record in this regime, heed the rules, write the memo.

The memo follows the seeds' layout: title, `*Workshop · time*`, the bold cycle header, a rule,
first-person reasoning that cites the record and the rules, a rule, **Prediction:**, the call in
words, the tag line, a rule, and the debate footer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..mind_registry import mind_names
from ..mind_registry import title as mind_title
from ..predictions.scoring import COIN
from ..predictions.standing_calls import standing_on, when
from ..predictions.tags import ParsedCall, format_tag, parse_timeframe
from ..publish.layout import MemoParts, cycle_header, render
from .calibration import RELIABLE_N, Calibrated, base_rate, calibrate, reliable_minds
from .context import active_rule
from .cycle_context import CycleContext
from .offline import cited, move, pick
from .repeats import synthesis_rule
from .types import Memo, Opinion

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


def render_memo(
    title: str,
    cycle_ts: pd.Timestamp,
    ordinal: int,
    body: list[str],
    prediction: list[str],
    tag_line: str,
    footer_line: str,
    written_at: pd.Timestamp,
) -> str:
    return render(
        MemoParts(
            title,
            f"{written_at:%Y-%m-%d %H:%M:%S} UTC",
            cycle_header(cycle_ts, ordinal),
            body,
            prediction,
            tag_line,
            footer_line,
        )
    )


def _describe(o: Opinion) -> str:
    who = mind_title(o.mind)
    if o.abstained:
        return f"{who} abstains: {o.abstain_reason}."
    subject = f"{o.ticker} relative to {o.relative_to}" if o.relative_to else o.ticker
    if o.restates:
        return (
            f"{who} holds its call of {when(o.restates)}, {subject} {o.direction}, at "
            f"{o.confidence:.2f} now (over {o.timeframe}: a restatement, not a new call)."
        )
    return f"{who} wants {subject} {o.direction} over {o.timeframe} at {o.confidence:.2f}."


def _standing_line(context: CycleContext, o: Opinion, published: float) -> str:
    """What the published call is to the synthesis's own standing call on its subject: held
    (a restatement, counted once from its own cycle), replaced (a flip), or nothing (new)."""
    found = standing_on(context.standing, "synthesis", o.ticker, o.relative_to, o.direction)
    if found is None:
        return ""
    row, same = found
    then = f"{row['subject']} {row['direction']} over {row['timeframe']} at {row['confidence']:.2f}"
    if same:
        return (
            f"I hold my call of {when(row['since'])} ({then}), standing until {row['until']}: "
            f"nothing since turns it, {mind_title(o.mind)} still makes it, and I restate it at "
            f"{published:.2f}. It counts once, from the cycle I made it."
        )
    return (
        f"This replaces my call of {when(row['since'])} ({then}): {mind_title(o.mind)} now "
        "calls the other way, and my record backs the turn; the earlier call is still scored at "
        "its own horizon."
    )


def synthesize(context: CycleContext, opinions: list[Opinion], debate: str) -> Memo:
    """Choose the call the record supports, or abstain, and write the memo."""
    cycle_ts = pd.Timestamp(context.cycle_ts)
    regime = context.regime
    regime_name = regime.label.replace("_", "-")
    weighed = candidates(context, opinions)
    blocked = [(c.opinion, c.rule) for c in weighed if c.rule]
    allowed = [(c.opinion, c.calibrated) for c in weighed if not c.rule]
    reliable = reliable_minds(context, mind_names())
    chosen, why = _choose(allowed, reliable, regime_name)

    body = []
    # 1. Where I am: the regime and which minds have earned trust in it.
    body.append(
        f"I'm reading this cycle as {regime_name}, score {regime.score:+.2f}. "
        f"What drives it: {readable_drivers(regime.drivers)}. "
        f"{_reliability_line(context, reliable)}"
    )
    # 2. What the tape says (numbers the fact check can verify).
    t = context.market.tickers
    m = context.market
    movers = sorted(t.items(), key=lambda kv: -abs(kv[1]["change_1d_pct"]))
    named = [k for k, _ in movers if k != "VIX"][:3]
    body.append(
        ". ".join(move(k, t[k]["change_1d_pct"]) for k in named)
        + f". VIX at {m.vix_level:.2f}, 10Y-2Y at {m.spread_10y_2y:.2f}, "
        f"Fed Funds at {m.fed_funds:.2f}%." + _outside_session(t, named)
    )
    # 2b. The news: the headline that bears on the minds' calls, else the newest (cited, so
    # the fact check reads it as a report, not a claim).
    if context.news:
        body.append(_news_line(context, opinions))
    elif context.news_note:
        body.append(f"The wire is silent: {context.news_note}, so I read the tape alone.")
    # 3. The three minds.
    body.append(" ".join(_describe(o) for o in opinions))
    # 4. The rules that bear on the calls weighed (a rule bears on a call of its source,
    # horizon and kind of subject: it forbids it), and lessons.
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
    written_at = cycle_ts.tz_localize("America/New_York").tz_convert("UTC").tz_localize(None)

    if chosen is None or chosen[1].probability < MIN_PROBABILITY:
        if not allowed:
            reason = "every mind abstained or was ruled out"
        else:
            o, cal = chosen or max(allowed, key=lambda c: c[1].probability)
            reason = (
                f"the best call on my record, {mind_title(o.mind)}'s, is worth "
                f"{cal.probability:.2f}, no better than a coin flip"
            )
        body.append(
            f"I can't predict this one, so I won't: {reason}. An honest abstention "
            "costs nothing; a forced call costs the record."
        )
        title = pick(
            context.cycle_key + "title-abstain",
            [
                "Nothing Here Worth Calling",
                "The Honest Move Is to Pass",
                f"No Edge in a {regime_name.title()} Tape",
            ],
        )
        tag = ABSTAIN_TAG
        memo_text = render_memo(
            title,
            cycle_ts,
            context.ordinal,
            body,
            ["No call this cycle."],
            tag,
            footer(debate, None, opinions),
            written_at,
        )
        return Memo(title, memo_text, tag, True, None, None)

    o, cal = chosen
    published = cal.probability
    who = mind_title(o.mind)
    subject = f"{o.ticker} relative to {o.relative_to}" if o.relative_to else o.ticker
    if abs(cal.stated - published) < 0.005:
        numbers = f"{who} states {cal.stated:.2f}, and the record backs that number: I publish it."
    else:
        numbers = f"{who} states {cal.stated:.2f}; {cal.explain()}, I publish {published:.2f}."
    body.append(f"I side with {who}{why}. {numbers}")
    held = _standing_line(context, o, published)
    if held:
        body.append(held)
    words = {"up": "higher", "down": "lower", "flat": "flat"}[o.direction]
    prediction = [f"{subject} closes {words} over the next {o.timeframe}. {o.thesis}".strip()]
    band = (o.band_low_pct, o.band_high_pct) if o.band_low_pct is not None else None
    tag = format_tag(o.direction, o.ticker, o.relative_to, o.timeframe, published, band)
    title = _title(context, o)
    memo_text = render_memo(
        title,
        cycle_ts,
        context.ordinal,
        body,
        prediction,
        tag,
        footer(debate, published, opinions),
        written_at,
    )
    return Memo(title, memo_text, tag, False, o.mind, published)


# The regime model's drivers (dbt_like_sql/models/regime_labels.sql) as a reader says them.
DRIVER_NAMES = {
    "spy_trend": "SPY's five-session trend",
    "breadth": "breadth",
    "vix_level": "the VIX level",
    "vix_change": "the VIX's daily change",
    "credit_hyg_5d": "HYG's five-session change",
}
_DRIVER = re.compile(r"(?P<name>[a-z_0-9]+) (?P<value>[-+\d.]+) \((?P<push>[-+]?[\d.]+)\)")


def readable_drivers(drivers: str) -> str:
    """'credit_hyg_5d 1.05 (+0.15); spy_trend 0.45 (+0.04)' as 'HYG's five-session change at
    1.05 (adds 0.15 toward risk-on), SPY's five-session trend at 0.45 (adds 0.04 ...)'."""
    out = []
    for part in drivers.split(";"):
        m = _DRIVER.fullmatch(part.strip())
        if not m:
            out.append(part.strip())
            continue
        push = float(m.group("push"))
        way = "toward risk-on" if push >= 0 else "toward risk-off"
        name = DRIVER_NAMES.get(m.group("name"), m.group("name").replace("_", " "))
        out.append(f"{name} at {m.group('value')} ({abs(push):.2f} {way})")
    return ", ".join(p for p in out if p)


def _news_line(context: CycleContext, opinions: list[Opinion]) -> str:

    called = {t for o in opinions for t in (o.ticker, o.relative_to) if t}
    bearing = [n for n in context.news if called & set(filter(None, n["tickers"].split(",")))]
    n = (bearing or context.news)[0]
    others = len(context.news) - 1
    more = f" ({others} more headline{'s' if others != 1 else ''} in the day)" if others else ""
    # The time alone when the headline is of the cycle's day; its date too when it is not.
    day, clock = n["visible_from"][:10], n["visible_from"][-5:]
    when = clock if day == context.cycle_ts[:10] else f"{day} {clock}"
    return f"The wire, {when} ({n['source']}): {cited(n)}{more}."


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
            f"of {b:.2f}), "
            "so I weigh each call by its calibrated odds."
        )
    named = "; ".join(f"{mind_title(m)}, {hits} of {n} right" for m, _rate, n, hits in reliable)
    if len(reliable) == 1:
        mind, _rate, n, hits = reliable[0]
        return (
            f"My track record says {mind_title(mind)} is my only reliable mind in "
            f"{regime} ({hits} of {n} right; base rate {b:.2f})."
        )
    return (
        f"My track record says these minds are reliable in {regime}: {named} (base rate {b:.2f})."
    )


def _title(context: CycleContext, o: Opinion) -> str:
    key = context.cycle_key + "title"
    if o.relative_to:
        return pick(
            key,
            [
                f"{o.ticker} Against {o.relative_to}: The Spread Is the Story",
                f"The {o.ticker}/{o.relative_to} Trade Isn't About Headlines",
            ],
        )
    if o.ticker == "VIX":
        return pick(key, ["Cheap Insurance Is Still Insurance", "Complacency Has a Price"])
    if o.direction == "up":
        return pick(key, [f"{o.ticker} Has Further to Run", f"Why I'm Leaning Long {o.ticker}"])
    return pick(key, [f"{o.ticker} Isn't Done Falling", f"The Case Against {o.ticker} This Week"])
