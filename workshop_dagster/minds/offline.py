"""The offline minds: deterministic analysts that read the context the way their persona would.

Each mind looks at its own part of the market, writes a paragraph that quotes the real numbers
(in the forms the fact check verifies: "IWM down 1.44%", "10Y-2Y at 0.53"), and makes one call
or abstains and says why. Confidence starts from the strength of the signal and is pulled toward
the mind's own hit rate in the current regime once it has a record there.
"""

from __future__ import annotations

import hashlib
import re

from .context import mind_record
from .cycle_context import CycleContext
from .types import Opinion, lean

SHRINK_N = 5  # pseudo-calls of prior at 50% when blending a record into confidence
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


def calibrated(confidence: float, context: CycleContext, mind: str) -> float:
    """Blend a signal's confidence with the mind's record in this regime (Beta(2.5, 2.5) prior)."""
    n, hits = mind_record(context, mind, context.regime.label)
    if n == 0:
        return round(min(max(confidence, 0.05), 0.9), 2)
    record = (hits + 0.5 * SHRINK_N) / (n + SHRINK_N)
    weight = n / (n + SHRINK_N)
    return round(min(max((1 - weight) * confidence + weight * record, 0.05), 0.9), 2)


# What each mind reads in the news (the Contrarian tail risks and filings, the Macro mind the Fed
# and geopolitics); the Flow mind reads the tape's movers, and any headline the others pass over.
READS = {
    "macro": re.compile(
        r"Federal Reserve|\bFed\b|rate|yield|Treasur|inflation|geopolit|tariff|war\b", re.I
    ),
    "contrarian": re.compile(
        r"Form 4|8-K|filing|EDGAR|insider|risk|worries|tension|warn|probe|lawsuit", re.I
    ),
}


def cited(row: dict) -> str:
    """A headline as the voices cite it: '[N2] “Tesla sinks 5.3% on heavy volume”' (its words
    in one line, any curly quote in them made straight so the citation stays whole)."""
    title = " ".join(str(row["title"]).split()).replace("“", '"').replace("”", '"')
    return f"[{row['cite']}] “{title}”"


def headline_sentence(context: CycleContext, mind: str) -> str:
    """The newest headline the mind reads, cited with its time and source; "" when none."""
    news = context.news  # newest first
    if mind == "flow":
        others = [n for n in news if not any(p.search(_text(n)) for p in READS.values())]
        chosen = (others or news)[:1]
    else:
        chosen = [n for n in news if READS[mind].search(_text(n))][:1]
    if not chosen:
        return ""
    n = chosen[0]
    day, time = n["visible_from"].split(" ")
    when = f"at {time}" if day == context.cycle_ts[:10] else f"on {day} at {time}"
    return f"On the wire {when} ({n['source']}): {cited(n)}."


def _text(row: dict) -> str:
    return f"{row['source']} {row['title']}"


def _record_sentence(context: CycleContext, mind: str, title: str) -> str:
    regime = context.regime.label
    n, hits = mind_record(context, mind, regime)
    if n == 0:
        return f"I have no scored calls in {regime.replace('_', '-')} yet, so this is unproven."
    return (
        f"My record in {regime.replace('_', '-')}: {hits} of {n} right, and I weigh "
        "this call with that in mind."
    )


def _opinion(
    mind: str,
    narrative: str,
    ticker=None,
    relative_to=None,
    direction=None,
    timeframe=None,
    confidence=None,
    band=None,
    reason=None,
    thesis="",
) -> Opinion:
    if ticker is None:
        return Opinion(
            mind=mind,
            stance="neutral",
            narrative=narrative,
            abstained=True,
            abstain_reason=reason or "no signal worth a call",
        )
    return Opinion(
        mind=mind,
        stance=lean(ticker, direction),
        narrative=narrative,
        thesis=thesis,
        ticker=ticker,
        relative_to=relative_to,
        direction=direction,
        timeframe=timeframe,
        confidence=confidence,
        band_low_pct=band[0] if band else None,
        band_high_pct=band[1] if band else None,
    )


def _called(mind: str, narrative: str, view: str, call: tuple, context: CycleContext) -> Opinion:
    """An opinion with a call (ticker, relative_to, direction, timeframe, raw confidence)."""
    ticker, rel, direction, tf, conf = call
    return _opinion(
        mind, narrative, ticker, rel, direction, tf, calibrated(conf, context, mind), thesis=view
    )


def macro_mind(context: CycleContext) -> Opinion:
    """Rates, the Fed, volatility and the regime."""
    m, key = context.market, context.cycle_key
    t = m.tickers
    vix, dvix = m.vix_level, m.vix_change_1d
    d10 = m.ust_10y_change_5obs_bp
    opening = pick(
        key + "macro",
        [
            "Start with the plumbing.",
            "Rates first, stories second.",
            "The macro tape is what it is.",
        ],
    )
    facts = (
        f"{opening} The 10Y at {m.ust_10y:.2f}%, the 2Y at {m.ust_2y:.2f}%, "
        f"10Y-2Y at {m.spread_10y_2y:.2f}, Fed Funds at {m.fed_funds:.2f}%. "
        f"VIX at {vix:.2f}, {'up' if dvix >= 0 else 'down'} {abs(dvix):.2f} points on the day."
    )
    if d10 is not None:
        facts += f" The 10Y has moved {d10:+.0f}bp over its last five prints."
    wire = headline_sentence(context, "macro")
    if wire:
        facts += f" {wire}"
    call = None
    if vix >= 24 and dvix > 0:
        conf = 0.42 + min((vix - 24) / 40, 0.15)
        view = (
            f"Volatility is elevated and still rising; {move('SPY', t['SPY']['change_1d_pct'])}. "
            "Stress like this tends to persist for days, not hours. I expect more downside."
        )
        call = ("SPY", None, "down", "48h", conf)
    elif d10 is not None and d10 >= 15:
        conf = 0.38 + min((d10 - 15) / 100, 0.15)
        view = (
            f"Yields are climbing fast, and duration is the constraint. Small caps carry the "
            f"most floating-rate debt: {move('IWM', t['IWM']['change_1d_pct'])}. "
            "Rising yields hurt IWM before they hurt anything else."
        )
        call = ("IWM", None, "down", "48h", conf)
    elif d10 is not None and d10 <= -15:
        conf = 0.38 + min((-d10 - 15) / 100, 0.15)
        view = (
            f"Yields are falling hard: {move('TLT', t['TLT']['change_1d_pct'])}. The bond "
            "market is pricing a slower economy or a friendlier Fed, and that bid rarely "
            "stops after one week."
        )
        call = ("TLT", None, "up", "1w", conf)
    elif vix <= 15 and dvix <= 0 and m.spread_10y_2y > 0:
        conf = 0.40
        view = (
            "Calm volatility, a positively sloped curve, no stress in funding. That is the "
            f"backdrop for grinding higher: {move('SPY', t['SPY']['change_5d_pct'], True)}."
        )
        call = ("SPY", None, "up", "1w", conf)
    else:
        view = (
            "Nothing in rates or volatility is strong enough to trade. The curve, the Fed "
            "and VIX are all inside their recent ranges."
        )
    record = _record_sentence(context, "macro", "Macro")
    if call is None:
        return _opinion(
            "macro", f"{facts} {view} {record}", reason="rates and volatility give no edge"
        )
    return _called("macro", f"{facts} {view} {record}", view, call, context)


def flow_mind(context: CycleContext) -> Opinion:
    """Breadth, rotation, the size spread and mega-cap concentration."""
    m, key = context.market, context.cycle_key
    t = m.tickers
    breadth = m.breadth
    facts = (
        f"Breadth at {100 * breadth:.0f}% of the tape up on the day. "
        f"{move('IWM', t['IWM']['change_1d_pct'])} against {move('QQQ', t['QQQ']['change_1d_pct'])}; "
        f"over the week, {move('IWM', t['IWM']['change_5d_pct'], True)} and "
        f"{move('QQQ', t['QQQ']['change_5d_pct'], True)}. The mega-cap basket moved "
        f"{m.mega_cap_1d:+.2f}% today."
    )
    wire = headline_sentence(context, "flow")
    if wire:
        facts += f" {wire}"
    spread5 = m.size_spread_5d
    call = None
    if spread5 >= 1.5 and breadth >= 0.5:
        view = pick(
            key + "flow",
            [
                "Money is rotating down the cap scale and breadth confirms it. Rotations like this run for more than a day.",
                "This is orderly rebalancing into small caps, not a squeeze: broad participation, steady size spread.",
            ],
        )
        call = ("IWM", "QQQ", "up", "48h", 0.38 + min((spread5 - 1.5) / 20, 0.15))
    elif spread5 <= -1.5 and m.mega_cap_5d > t["SPY"]["change_5d_pct"]:
        view = (
            "Concentration is rising again: the mega-caps carry the index while small caps "
            "lag. Flows chase what is working until something breaks."
        )
        call = ("IWM", "QQQ", "down", "48h", 0.38 + min((-spread5 - 1.5) / 20, 0.15))
    elif breadth <= 0.3 and m.mega_cap_1d < 0:
        view = (
            "Thin breadth and the mega-caps selling together: that is distribution, not "
            "rotation. The leaders go next."
        )
        call = ("QQQ", None, "down", "24h", 0.36)
    elif breadth >= 0.75:
        view = "Participation is broad. Broad tapes tend to follow through."
        call = ("SPY", None, "up", "48h", 0.37)
    else:
        view = (
            "No clean rotation: breadth is middling and the size spread is inside its noise. "
            "I don't see a flow to lean on."
        )
    record = _record_sentence(context, "flow", "Flow")
    if call is None:
        return _opinion("flow", f"{facts} {view} {record}", reason="no rotation or breadth signal")
    return _called("flow", f"{facts} {view} {record}", view, call, context)


def contrarian_mind(context: CycleContext) -> Opinion:
    """What consensus misses: stretched moves and tail risks."""
    from ..market.universe import TICKER_KIND

    m, key = context.market, context.cycle_key
    stretched = []
    for ticker, row in m.tickers.items():
        kind = TICKER_KIND.get(ticker, "index")
        if kind == "volatility":
            continue
        z = row["change_5d_pct"] / TYPICAL_5D_MOVE[kind]
        stretched.append((abs(z), ticker, row, z))
    stretched.sort(key=lambda x: (-x[0], x[1]))
    top_abs, ticker, row, z = stretched[0]
    opening = pick(
        key + "contrarian",
        [
            "Everyone is looking at the same screen.",
            "The consensus read is easy, which is the problem.",
            "What nobody wants to say:",
        ],
    )
    wire = headline_sentence(context, "contrarian")
    if wire:
        opening = f"{opening} {wire}"
    if top_abs >= 1.6:
        direction = "down" if z > 0 else "up"
        text = (
            f"{opening} {move(ticker, row['change_5d_pct'], True)} is the most stretched "
            f"move on the board, {top_abs:.1f} times a normal week. Moves that far from "
            "their mean snap back more often than they extend, whatever the story."
        )
        conf = 0.33 + min((top_abs - 1.6) / 10, 0.17)
        record = _record_sentence(context, "contrarian", "Contrarian")
        return _opinion(
            "contrarian",
            f"{text} {record}",
            ticker,
            None,
            direction,
            "48h",
            calibrated(conf, context, "contrarian"),
            thesis="Moves that far from their mean snap back more often than they extend.",
        )
    if m.vix_level <= 13:
        text = (
            f"{opening} VIX at {m.vix_level:.2f} is complacency. Tail risk is cheap "
            "exactly when nobody wants it."
        )
        record = _record_sentence(context, "contrarian", "Contrarian")
        return _opinion(
            "contrarian",
            f"{text} {record}",
            "VIX",
            None,
            "up",
            "1w",
            calibrated(0.32, context, "contrarian"),
            thesis="Tail risk is cheap exactly when nobody wants it.",
        )
    text = (
        f"{opening} Nothing is stretched enough to fade: the biggest weekly move, "
        f"{move(ticker, row['change_5d_pct'], True)}, is within a normal range."
    )
    return _opinion("contrarian", text, reason="no stretched consensus to fade")
