"""The offline minds: deterministic analysts that read the context the way their persona would.

Each mind states its case with its evidence, in words and units a reader knows ("the 10Y has
fallen 18bp over its last five prints", "breadth at 81% of the tape up on the day", "IWM down
1.44%": the forms the fact check and the claim check read), cites the headlines and releases
its lens reads, and makes one call or abstains and says why. Its number is its conviction that
the call is right, from its signal's strength alone and never under a coin (a call names the
side the mind thinks likelier); its record is the calibration's to read (`calibration`: the
probability the synthesis publishes), so every call it makes is scored and its record keeps
learning. `rebuttals` then has each mind answer the others.

(Over 350 lines: three minds and the evidence sentences they share; a mind's lens reads best
beside the others'.)
"""

from __future__ import annotations

import hashlib
import re

from ..market.universe import ticker_kind
from ..predictions.claim_check import BIG_YIELD_BP, BROAD
from .context import mind_record
from .cycle_context import CycleContext
from .types import Opinion, lean

TYPICAL_5D_MOVE = {"index": 2.0, "mega_cap": 5.0, "sector": 3.5, "volatility": 20.0}


def move(ticker: str, pct: float, five_day: bool = False) -> str:
    """'IWM down 1.44%' (the fact check reads exactly this form)."""
    word = "up" if pct >= 0 else "down"
    suffix = " over five sessions" if five_day else ""
    return f"{ticker} {word} {abs(pct):.2f}%{suffix}"


def pick(key: str, options: list[str]) -> str:
    """A deterministic choice of phrasing, so prose varies between cycles but never between runs."""
    h = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return options[h % len(options)]


def conviction(strength: float) -> float:
    """A signal's strength (0.32 a bare signal .. 0.57 the strongest) as the mind's stated
    conviction that its call is right: 0.52 .. 0.72, over a coin by construction.

    Not blended with the mind's record: a blend pulled a burned mind's number under a coin (it
    "wanted" calls at 0.09), and standing aside there starved its record (docs/evaluation.md,
    session 19). The record reaches the call through the calibration, which reads the calls
    binned by this number."""
    return round(min(max(0.5 + 0.8 * (strength - 0.30), 0.51), 0.9), 2)


# What each mind reads in the news (the Contrarian tail risks and filings, the Macro mind the Fed
# and geopolitics and whatever is tagged MACRO); the Flow mind reads the tape's movers, and any
# headline the others pass over.
READS = {
    "macro": re.compile(
        r"Federal Reserve|\bFed\b|\brates?\b|yield|Treasur|inflation|geopolit|tariff|\bwar\b|"
        r"\bCPI\b|jobs report|payrolls|FOMC|Powell",
        re.I,
    ),
    "contrarian": re.compile(
        r"Form 4|8-K|filing|EDGAR|insider|risk|worries|tension|warn|probe|lawsuit|crash|"
        r"bubble|selloff|sell-off",
        re.I,
    ),
}


def cited(row: dict) -> str:
    """A headline as the voices cite it: '[N2] “Tesla sinks 5.3% on heavy volume”' (its words
    in one line, any curly quote in them made straight so the citation stays whole)."""
    title = " ".join(str(row["title"]).split()).replace("“", '"').replace("”", '"')
    return f"[{row['cite']}] “{title}”"


def when_public(context: CycleContext, stamp: str) -> str:
    """'at 16:45' on the cycle's day, 'on 2026-03-29 at 19:00' before it."""
    day, time = stamp.split(" ")
    return f"at {time}" if day == context.cycle_ts[:10] else f"on {day} at {time}"


def _text(row: dict) -> str:
    return f"{row['source']} {row['title']}"


def _reads(mind: str, row: dict) -> bool:
    if mind == "macro" and "MACRO" in str(row.get("tickers", "")).split(","):
        return True
    return bool(READS[mind].search(_text(row)))


def headlines_for(context: CycleContext, mind: str, tickers: tuple[str, ...] = ()) -> list[dict]:
    """The headlines the mind reads, newest first: those about `tickers` first, then its lens's."""
    news = context.news  # newest first
    about = [n for n in news if set(tickers) & set(str(n.get("tickers", "")).split(","))]
    if mind == "flow":
        lens = [n for n in news if not any(_reads(m, n) for m in READS)] or news
    else:
        lens = [n for n in news if _reads(mind, n)]
    seen, out = set(), []
    for n in about + lens:
        if n["cite"] not in seen:
            seen.add(n["cite"])
            out.append(n)
    return out


def headline_sentence(context: CycleContext, mind: str, tickers: tuple[str, ...] = ()) -> str:
    """The headline the mind leans on, cited with its time and source; "" when none."""
    chosen = headlines_for(context, mind, tickers)[:1]
    if not chosen:
        return ""
    n = chosen[0]
    return f"On the wire {when_public(context, n['visible_from'])} ({n['source']}): {cited(n)}."


def release_sentence(context: CycleContext, names: tuple[str, ...] | None = None) -> str:
    """The releases due and just out, in a sentence ("CPI is due on 2026-04-10 at 08:30");
    "" when the cycle knows none."""
    rows = [r for r in context.releases if names is None or r["name"] in names]
    if not rows:
        return ""
    out = [r for r in rows if r["status"] == "out"]
    coming = [r for r in rows if r["status"] == "coming"]
    parts = []
    if out:
        parts.append(
            "; ".join(f"{r['name']} came out {when_public(context, r['at'])}" for r in out)
        )
    if coming:
        first = coming[0]
        parts.append(f"{first['name']} is due {when_public(context, first['at'])}")
    text = ", and ".join(parts)
    return text[0].upper() + text[1:] + "."


def _record_sentence(context: CycleContext, mind: str) -> str:
    regime = context.regime.label.replace("_", "-")
    n, hits = mind_record(context, mind, regime=context.regime.label)
    if n == 0:
        return f"I have no scored calls in {regime} yet, so this is unproven."
    return (
        f"My record in {regime}: {hits} of {n} right; my number is my reading of the tape, the "
        "record says what it is worth."
    )


def _abstain(mind: str, narrative: str, reason: str) -> Opinion:
    return Opinion(
        mind=mind, stance="neutral", narrative=narrative, abstained=True, abstain_reason=reason
    )


def _called(mind: str, case: str, thesis: str, call: tuple, context: CycleContext) -> Opinion:
    """The opinion with its call (ticker, relative_to, direction, timeframe, strength), at the
    signal's conviction (a conviction, not a probability: the calibration turns it into one
    with the mind's record, docs/scoring.md)."""
    ticker, rel, direction, tf, strength = call
    return Opinion(
        mind=mind,
        stance=lean(ticker, direction),
        narrative=f"{case} {_record_sentence(context, mind)}",
        thesis=thesis,
        ticker=ticker,
        relative_to=rel,
        direction=direction,
        timeframe=tf,
        confidence=conviction(strength),
    )


def yields_sentence(context: CycleContext) -> str:
    """The 10-year's move in words that agree with its sign and size."""
    m = context.market
    d10 = m.ust_10y_change_5obs_bp
    if d10 is None:
        return f"The 10Y is at {m.ust_10y:.2f}%; I have too few prints to say where it is going."
    if d10 == 0:
        return f"The 10Y is at {m.ust_10y:.2f}%, unchanged over its last five prints."
    verb = "fallen" if d10 < 0 else "climbed"
    size = " hard" if abs(d10) >= BIG_YIELD_BP else ""
    way = "falling" if d10 < 0 else "rising"
    return (
        f"The 10Y has {verb} {abs(d10):.0f}bp over its last five prints, to {m.ust_10y:.2f}%: "
        f"yields are {way}{size}."
    )


def macro_mind(context: CycleContext) -> Opinion:
    """Rates, the Fed, volatility, the release calendar and the regime."""
    m = context.market
    t = m.tickers
    vix, dvix = m.vix_level, m.vix_change_1d
    d10 = m.ust_10y_change_5obs_bp
    opening = pick(
        context.cycle_key + "macro",
        ["Start with the plumbing.", "Rates first, stories second.", "Follow the rates."],
    )
    vix_way = "up" if dvix >= 0 else "down"
    evidence = (
        f"{opening} {yields_sentence(context)} The 2Y is at {m.ust_2y:.2f}%, the 10Y-2Y spread "
        f"at {m.spread_10y_2y:.2f} percentage points, Fed Funds at {m.fed_funds:.2f}%. VIX at "
        f"{vix:.2f}, {vix_way} {abs(dvix):.2f} points on the day."
    )
    release = release_sentence(context)
    if release:
        evidence += f" {release}"
    call, thesis = None, ""
    if vix >= 24 and dvix > 0:
        case = (
            f"Volatility is elevated and still rising, and {move('SPY', t['SPY']['change_1d_pct'])}"
            ". Stress like this tends to persist for days, not hours: I expect more downside."
        )
        thesis = "Volatility this high and still rising persists for days, not hours."
        call = ("SPY", None, "down", "48h", 0.42 + min((vix - 24) / 40, 0.15))
        tickers = ("SPY",)
    elif d10 is not None and d10 >= BIG_YIELD_BP:
        case = (
            "Duration is the constraint. Small caps carry the most floating-rate debt, so "
            f"rising yields hurt them first; {move('IWM', t['IWM']['change_1d_pct'])} today."
        )
        thesis = "Rising yields hurt the small caps' floating-rate debt before anything else."
        call = ("IWM", None, "down", "48h", 0.38 + min((d10 - 15) / 100, 0.15))
        tickers = ("IWM",)
    elif d10 is not None and d10 <= -BIG_YIELD_BP:
        tlt = t["TLT"]["change_1d_pct"]
        with_it = "with the move" if tlt >= 0 else "lagging the move, which leaves room"
        case = (
            "The bond market is pricing a slower economy or a friendlier Fed. The long bond "
            f"gains as yields fall: {move('TLT', tlt)} today, {with_it}; a bid like this "
            "rarely stops after one week."
        )
        thesis = "Falling yields lift the long bond, and that bid rarely stops after one week."
        call = ("TLT", None, "up", "1w", 0.38 + min((-d10 - 15) / 100, 0.15))
        tickers = ("TLT",)
    elif vix <= 15 and dvix <= 0 and m.spread_10y_2y > 0:
        case = (
            "Volatility is calm, the curve slopes upward, funding shows no stress: the "
            f"backdrop for grinding higher; {move('SPY', t['SPY']['change_5d_pct'], True)}."
        )
        thesis = "Calm volatility and a positive curve are the backdrop for grinding higher."
        call = ("SPY", None, "up", "1w", 0.40)
        tickers = ("SPY",)
    else:
        case = (
            "Nothing in rates or volatility is strong enough to trade: the curve, the Fed and "
            "VIX are all inside their recent ranges."
        )
        tickers = ()
    wire = headline_sentence(context, "macro", tickers)
    text = f"{evidence} {wire} {case}" if wire else f"{evidence} {case}"
    if call is None:
        return _abstain("macro", text, "rates and volatility give no edge")
    return _called("macro", text, thesis, call, context)


def flow_mind(context: CycleContext) -> Opinion:
    """Breadth, rotation, the size spread and mega-cap concentration."""
    m = context.market
    t = m.tickers
    breadth = m.breadth
    evidence = (
        f"Breadth at {100 * breadth:.0f}% of the tape up on the day. "
        f"{move('IWM', t['IWM']['change_1d_pct'])} against "
        f"{move('QQQ', t['QQQ']['change_1d_pct'])}; over the week, "
        f"{move('IWM', t['IWM']['change_5d_pct'], True)} and "
        f"{move('QQQ', t['QQQ']['change_5d_pct'], True)}, a size spread of "
        f"{m.size_spread_5d:+.2f} percentage points. The mega-cap basket moved "
        f"{m.mega_cap_1d:+.2f}% today."
    )
    spread5 = m.size_spread_5d
    call, thesis, tickers = None, "", ()
    if spread5 >= 1.5 and breadth >= 0.5:
        case = pick(
            context.cycle_key + "flow",
            [
                "Money is rotating down the cap scale and breadth confirms it. Rotations like "
                "this run for more than a day.",
                "This is orderly rebalancing into small caps, not a squeeze: "
                + (
                    "broad participation"
                    if breadth >= BROAD
                    else f"{100 * breadth:.0f}% of the tape up, enough to confirm"
                )
                + ", a steady size spread.",
            ],
        )
        thesis = "A rotation down the cap scale that breadth confirms runs for more than a day."
        call = ("IWM", "QQQ", "up", "48h", 0.38 + min((spread5 - 1.5) / 20, 0.15))
        tickers = ("IWM", "QQQ")
    elif spread5 <= -1.5 and m.mega_cap_5d > t["SPY"]["change_5d_pct"]:
        case = (
            "Concentration is rising again: the mega-caps carry the index while small caps "
            "lag. Flows chase what is working until something breaks."
        )
        thesis = "Flows chase the mega-caps that carry the index until something breaks."
        call = ("IWM", "QQQ", "down", "48h", 0.38 + min((-spread5 - 1.5) / 20, 0.15))
        tickers = ("IWM", "QQQ")
    elif breadth <= 0.3 and m.mega_cap_1d < 0:
        case = (
            "Breadth is thin and the mega-caps are selling together: that is distribution, "
            "not rotation. The leaders go next."
        )
        thesis = "Thin breadth with the leaders selling is distribution, and the leaders go next."
        call = ("QQQ", None, "down", "24h", 0.36)
        tickers = ("QQQ",)
    elif breadth >= 0.75:
        case = "Participation is broad, and broad tapes tend to follow through."
        thesis = "Broad participation tends to follow through."
        call = ("SPY", None, "up", "48h", 0.37)
        tickers = ("SPY",)
    else:
        case = (
            "No clean rotation: breadth is middling and the size spread is inside its noise. "
            "I don't see a flow to lean on."
            if 0.4 < breadth < 0.6
            else "No clean rotation: the size spread is inside its noise, and breadth alone "
            "is not a flow I can lean on."
        )
    wire = headline_sentence(context, "flow", tickers)
    text = f"{evidence} {wire} {case}" if wire else f"{evidence} {case}"
    if call is None:
        return _abstain("flow", text, "no rotation or breadth signal")
    return _called("flow", text, thesis, call, context)


def most_stretched(context: CycleContext) -> tuple[float, str, dict, float]:
    """The week's most stretched move against its kind's typical week (VIX aside): (how many
    typical weeks, ticker, its row, the signed ratio); ties to the first ticker by name."""
    stretched = []
    for ticker, row in context.market.tickers.items():
        kind = ticker_kind(ticker)
        if kind == "volatility":
            continue
        z = row["change_5d_pct"] / TYPICAL_5D_MOVE[kind]
        stretched.append((abs(z), ticker, row, z))
    return min(stretched, key=lambda x: (-x[0], x[1]))


def contrarian_mind(context: CycleContext) -> Opinion:
    """What consensus misses: stretched moves and tail risks."""
    m = context.market
    top_abs, ticker, row, z = most_stretched(context)
    opening = pick(
        context.cycle_key + "contrarian",
        [
            "Everyone is looking at the same screen.",
            "The consensus read is easy, which is the problem.",
            "What nobody wants to say:",
        ],
    )
    if top_abs >= 1.6:
        direction = "down" if z > 0 else "up"
        wire = headline_sentence(context, "contrarian", (ticker,))
        text = (
            f"{opening} {move(ticker, row['change_5d_pct'], True)} is the most stretched move "
            f"on the board, {top_abs:.1f} times a normal week. Moves that far from their mean "
            "snap back more often than they extend, whatever the story."
        )
        if wire:
            text += f" {wire} The story is already in the price."
        strength = 0.33 + min((top_abs - 1.6) / 10, 0.17)
        return _called(
            "contrarian",
            text,
            "Moves that far from their mean snap back more often than they extend.",
            (ticker, None, direction, "48h", strength),
            context,
        )
    wire = headline_sentence(context, "contrarian")
    if m.vix_level <= 13:
        text = (
            f"{opening} VIX at {m.vix_level:.2f} is complacency. Tail risk is cheap exactly "
            "when nobody wants it."
        )
        if wire:
            text += f" {wire}"
        return _called(
            "contrarian",
            text,
            "Tail risk is cheap exactly when nobody wants it.",
            ("VIX", None, "up", "1w", 0.32),
            context,
        )
    text = (
        f"{opening} Nothing is stretched enough to fade: the biggest weekly move, "
        f"{move(ticker, row['change_5d_pct'], True)}, is {top_abs:.1f} times a normal week."
    )
    if wire:
        text += f" {wire} A worry in the headlines is not a stretched price."
    return _abstain("contrarian", text, "no stretched consensus to fade")
