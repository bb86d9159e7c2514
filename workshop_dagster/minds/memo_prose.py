"""The offline synthesis's prose: the paragraphs of a memo that argues, as the seeds do.

A memo opens on what this cycle is about (the minds' disagreement, or their agreement and its
risk), says the regime in words, reads the wire and the release calendar, weighs each mind's
argument, says which evidence decided it and what would change its mind, and is titled by what
it says. Every figure is quoted in a form the fact check reads, with its unit; every claim of
direction or size agrees with the data (`predictions/claim_check.py`). The regime model's
score and weights are the provenance's, not the prose's.

(Over 350 lines: one memo's paragraphs, a function each, in the order a memo runs; apart, a
paragraph's words would live away from its neighbours'.)
"""

from __future__ import annotations

import re

import pandas as pd

from ..market.universe import ticker_kind
from ..predictions.claim_check import BIG_MOVE_PCT, BROAD, THIN, VIX_CALM, VIX_ELEVATED
from ..predictions.standing_calls import when
from ..predictions.verdicts import pct
from ..registry.minds import title as mind_title
from .cycle_context import CycleContext
from .offline import (
    TYPICAL_5D_MOVE,
    cited,
    headlines_for,
    move,
    release_sentence,
    when_public,
)
from .rebuttals import call_words, first_clash
from .types import Opinion

_DRIVER = re.compile(r"(?P<name>[a-z_0-9]+) (?P<value>[-+\d.]+) \((?P<push>[-+]?[\d.]+)\)")


def opening(opinions: list[Opinion]) -> str:
    """What this cycle is about, in one paragraph: who argues what, and whether they clash."""
    callers = [o for o in opinions if not o.abstained]
    aside = [mind_title(o.mind) for o in opinions if o.abstained]
    aside_text = (
        f" {listed(aside)} {'stands' if len(aside) == 1 else 'stand'} aside." if aside else ""
    )
    if not callers:
        return (
            f"All {len(opinions)} minds stood aside this cycle, and I'd rather say so than "
            "dress up a guess."
        )
    clash = first_clash(opinions)
    if clash:
        a, b = clash
        return (
            f"My minds read the same tape and disagree. {mind_title(a.mind)} argues "
            f"{call_words(a)}; {mind_title(b.mind)} argues {call_words(b)}. They cannot both "
            f"be right, so the question is whose evidence holds.{aside_text}"
        )
    if len(callers) == 1:
        o = callers[0]
        return (
            f"{mind_title(o.mind)} is the only mind with a call: {call_words(o)}.{aside_text} "
            "A lone call is a question, not an answer: does its evidence carry it alone?"
        )
    names = listed([mind_title(o.mind) for o in callers])
    return (
        f"{names} lean the same way this cycle ("
        + "; ".join(call_words(o) for o in callers)
        + f").{aside_text} Agreement is comfortable, which is a reason to check it."
    )


def listed(names: list[str]) -> str:
    """'Macro', 'Macro and Flow', 'Macro, Flow and Contrarian'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _driver_words(context: CycleContext, name: str) -> str | None:
    """One regime input in words, from the cycle's market view (the figures the fact check
    reads), or None for an input the memo does not describe."""
    m = context.market
    t = m.tickers
    if name == "vix_level":
        if m.vix_level >= VIX_ELEVATED:
            return f"VIX at {m.vix_level:.2f}, elevated"
        if m.vix_level <= VIX_CALM:
            return f"VIX at {m.vix_level:.2f}, calm"
        return f"VIX at {m.vix_level:.2f}, neither calm nor stressed"
    if name == "vix_change":
        way = "up" if m.vix_change_1d >= 0 else "down"
        return f"VIX {way} {abs(m.vix_change_1d):.2f} points on the day"
    if name == "breadth":
        word = (
            "broad participation"
            if m.breadth >= BROAD
            else "thin breadth"
            if m.breadth <= THIN
            else "middling breadth"
        )
        return f"{word}, {100 * m.breadth:.0f}% of the tape up on the day"
    if name == "spy_trend" and "SPY" in t:
        return move("SPY", t["SPY"]["change_5d_pct"], True)
    if name == "credit_hyg_5d" and "HYG" in t:
        hyg = t["HYG"]["change_5d_pct"]
        return f"credit {'holding up' if hyg >= 0 else 'slipping'}, {move('HYG', hyg, True)}"
    return None


def regime_in_words(context: CycleContext) -> str:
    """'I'm reading this cycle as risk-off: VIX at 26.10, elevated, pulls toward risk-off; …'
    The two inputs that pushed the label hardest, in words and units; no weights."""
    label = context.regime.label.replace("_", "-")
    pushes = []
    for part in context.regime.drivers.split(";"):
        m = _DRIVER.fullmatch(part.strip())
        if m:
            pushes.append((abs(float(m.group("push"))), m.group("name"), float(m.group("push"))))
    pushes.sort(key=lambda x: (-x[0], x[1]))
    said = []
    for _, name, push in pushes:
        words = _driver_words(context, name)
        if words is None or push == 0:
            continue
        said.append(f"{words}, {'pulls toward risk-off' if push < 0 else 'leans risk-on'}")
        if len(said) == 2:
            break
    head = (
        f"I'm reading this cycle as {label}"
        if label != "transition"
        else "I'm reading this cycle as transition, neither risk-on nor risk-off"
    )
    return f"{head}: {'; '.join(said)}." if said else f"{head}."


def wire(context: CycleContext, chosen: Opinion | None) -> str:
    """The headlines that bear on the call (or the newest) and the release calendar, or the
    wire's silence, said."""
    tickers = tuple(t for t in ((chosen.ticker, chosen.relative_to) if chosen else ()) if t)
    parts = []
    if context.news:
        bearing = headlines_for(context, "flow", tickers)[:1] if tickers else []
        macro = headlines_for(context, "macro")[:1]
        shown = bearing + [n for n in macro if n not in bearing]
        shown = shown or context.news[:1]
        quoted = "; ".join(
            f"{when_public(context, n['visible_from'])} {n['source']} ran {cited(n)}" for n in shown
        )
        rest = len(context.news) - len(shown)
        more = f" ({rest} more headline{'s' if rest != 1 else ''} in the day)" if rest else ""
        parts.append(f"On the wire: {quoted}{more}.")
    else:
        note = context.news_note or "no headline is public in the day before this cycle"
        parts.append(f"The wire is silent: {note}, so I read the tape alone.")
    release = release_sentence(context)
    if release:
        parts.append(release)
        if chosen is not None:
            straddled = _straddled(context, chosen)
            if straddled:
                parts.append(
                    f"A {chosen.timeframe} call straddles {straddled}: the release can move the "
                    "tape either way, and that is risk I take on knowingly."
                )
    return " ".join(parts)


def _straddled(context: CycleContext, o: Opinion) -> str | None:
    """The first release due before the call's horizon ends, by name."""
    from ..predictions.horizon import horizon_end
    from ..predictions.tags import parse_timeframe

    cycle_ts = pd.Timestamp(context.cycle_ts)
    _, sessions = parse_timeframe(o.timeframe, cycle_ts)
    end = horizon_end(cycle_ts, sessions)
    for r in context.releases:
        if r["status"] == "coming" and pd.Timestamp(r["at"]) <= end:
            return r["name"]
    return None


def weighing(
    context: CycleContext,
    opinions: list[Opinion],
    probability_of: dict[str, float],
    ruled_out: dict[str, str],
) -> str:
    """Each mind's argument and what the record makes of it, and where two clash, how one
    answered the other (`rebuttals`)."""
    from .rebuttals import answer

    parts = []
    for o in opinions:
        who = mind_title(o.mind)
        if o.abstained:
            parts.append(f"{who} stands aside: {o.abstain_reason}.")
            continue
        if o.restates:
            head = (
                f"{who} holds its call of {when(o.restates)}, {call_words(o)} (a restatement, "
                "not a new call)"
            )
        else:
            head = f"{who} argues {call_words(o)}"
        thesis = f": {_clause(o.thesis)}" if o.thesis else ""
        weight = f"It states {pct(o.confidence)}"
        if o.mind in probability_of:
            weight += f", and its record makes that {pct(probability_of[o.mind])}"
        if o.mind in ruled_out:
            weight += "; my rules rule it out (below)"
        parts.append(f"{head}{thesis}. {weight}.")
    clash = first_clash(opinions)
    if clash:
        a, b = clash
        reply = answer(b, [a], context)
        if reply:
            parts.append(
                f"Where they clash, {mind_title(b.mind)} answers {mind_title(a.mind)}: "
                f"“{reply.split('. ', 1)[-1]}” I weigh that answer against the record below."
            )
    return " ".join(parts)


def _clause(sentence: str) -> str:
    """A sentence as a clause after a colon: its first letter lower-cased unless the first
    word is a name or a ticker ("Volatility this high" -> "volatility this high")."""
    text = sentence.strip().rstrip(".")
    first = text.split(" ", 1)[0]
    if first[:1].isupper() and (len(first) == 1 or first[1:].islower()):
        return text[:1].lower() + text[1:]
    return text


def decisive_evidence(context: CycleContext, o: Opinion) -> str:
    """The figure that carries the chosen call, in words and units."""
    m = context.market
    t = m.tickers
    d10 = m.ust_10y_change_5obs_bp
    if o.mind == "macro" and o.ticker == "SPY" and o.direction == "down":
        return f"VIX at {m.vix_level:.2f} and still rising, up {m.vix_change_1d:.2f} points"
    if o.mind == "macro" and o.ticker in ("IWM", "TLT") and d10 is not None:
        way = "up" if d10 > 0 else "down"
        return f"the 10-year yield {way} {abs(d10):.0f}bp over its last five prints"
    if o.mind == "macro":
        return f"VIX at {m.vix_level:.2f} with the 10Y-2Y spread at {m.spread_10y_2y:.2f} percentage points"
    if o.mind == "flow" and o.relative_to:
        return (
            f"a size spread of {m.size_spread_5d:+.2f} percentage points over the week, with "
            f"{100 * m.breadth:.0f}% of the tape up on the day"
        )
    if o.mind == "flow":
        return (
            f"{100 * m.breadth:.0f}% of the tape up on the day, the mega-caps {m.mega_cap_1d:+.2f}%"
        )
    if o.mind == "contrarian" and o.ticker in t and o.ticker != "VIX":
        z = abs(t[o.ticker]["change_5d_pct"]) / TYPICAL_5D_MOVE[ticker_kind(o.ticker)]
        return f"{move(o.ticker, t[o.ticker]['change_5d_pct'], True)}, {z:.1f} times a normal week"
    if o.mind == "contrarian":
        return f"VIX at {m.vix_level:.2f}, cheap insurance"
    return o.thesis.rstrip(".") or call_words(o)


def change_my_mind(context: CycleContext, o: Opinion) -> str:
    """What would show the call wrong before its horizon: a price that undoes it, and the
    evidence turning."""
    t = context.market.tickers
    if o.relative_to:
        price = (
            f"{o.ticker} trailing {o.relative_to} by 1.00% or more from here"
            if o.direction == "up"
            else f"{o.ticker} beating {o.relative_to} by 1.00% or more from here"
        )
    elif o.ticker in t:
        last = float(t[o.ticker]["last"])
        # A big day's move for its kind (the claim check's) is what would undo the call.
        x = BIG_MOVE_PCT[ticker_kind(o.ticker)]
        if o.direction == "up":
            price = f"{o.ticker} closing under ${last * (1 - x / 100):.2f}, {x:.1f}% below its last ${last:.2f}"
        else:
            price = f"{o.ticker} closing over ${last * (1 + x / 100):.2f}, {x:.1f}% above its last ${last:.2f}"
    else:
        price = f"{o.ticker} moving against the call"
    turn = {
        "macro": "the rates or volatility signal that made the case turning back",
        "flow": "breadth rolling over and the flow reversing",
        "contrarian": "the stretched move extending another leg instead of snapping back",
    }.get(o.mind, "the evidence of the case turning")
    return f"What would change my mind: {price}, or {turn}. Either and I'm wrong, and I'll say so."


def title_for(
    context: CycleContext, o: Opinion | None, opinions: list[Opinion], p: float | None
) -> str:
    """A title that says what this memo says: the call and the figure that carried it, or why
    there is no call (so consecutive memos share a title only when they say the same thing)."""
    m = context.market
    t = m.tickers
    if o is None:
        callers = [x for x in opinions if not x.abstained]
        clash = first_clash(opinions)
        if clash:
            a, b = clash
            return (
                f"No Call: {mind_title(a.mind)} and {mind_title(b.mind)} Split on "
                f"{a.ticker}, {_today(t, a.ticker)}"
            )
        if callers and p is not None:
            best = callers[0]
            return (
                f"No Call: {best.ticker} {best.direction} Is Worth {pct(p)} on the Record, "
                f"{_today(t, best.ticker)}"
            )
        return f"Nothing Worth Calling: Breadth at {100 * m.breadth:.0f}%, {_today(t, 'SPY')}"
    subject = (
        f"{o.ticker} {'Ahead of' if o.direction == 'up' else 'Behind'} {o.relative_to}"
        if o.relative_to
        else f"{o.ticker} {'Higher' if o.direction == 'up' else 'Lower'}"
    )
    today = f", {_today(t, o.ticker)}" if o.ticker in t else ""
    short = _short_evidence(context, o)
    head = f"Still {subject}" if o.restates else subject
    return f"{head} Over {o.timeframe}: {short}{today}"


def _today(tickers: dict, ticker: str) -> str:
    """'SPY up 0.42% Today' (the day's move, as the fact check reads it); SPY's when the
    ticker has no quote of the minute (its last close says nothing new from cycle to cycle)."""
    row = tickers.get(ticker)
    if row is None or (row.get("stale") and ticker != "SPY" and "SPY" in tickers):
        ticker, row = "SPY", tickers.get("SPY")
    if row is None:
        return "No Quote Today"
    if row.get("extended_move_pct") is not None and row.get("extended_session"):
        # Outside the session the day's move stands still: the move since the close says
        # what is new ("META up 1.74% after hours", as the fact check reads it).
        session = str(row["extended_session"]).replace("after-hours", "after hours")
        return f"{move(ticker, row['extended_move_pct'])} {session}"
    return f"{move(ticker, row['change_1d_pct'])} Today"


def _short_evidence(context: CycleContext, o: Opinion) -> str:
    m = context.market
    t = m.tickers
    d10 = m.ust_10y_change_5obs_bp
    if o.mind == "macro" and o.ticker in ("IWM", "TLT") and d10 is not None:
        return f"the 10Y {'up' if d10 > 0 else 'down'} {abs(d10):.0f}bp"
    if o.mind == "macro":
        return f"VIX at {m.vix_level:.1f}"
    if o.mind == "flow" and o.relative_to:
        return f"a {m.size_spread_5d:+.2f} Point Size Spread"
    if o.mind == "flow":
        return f"Breadth at {100 * m.breadth:.0f}%"
    if o.mind == "contrarian" and o.ticker in t and o.ticker != "VIX":
        return f"Stretched {abs(t[o.ticker]['change_5d_pct']):.1f}% in a Week"
    if o.mind == "contrarian":
        return f"Cheap Insurance, VIX at {m.vix_level:.1f}"
    return f"{mind_title(o.mind)}'s Call"
