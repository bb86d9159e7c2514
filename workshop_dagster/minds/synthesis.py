"""The synthesis: weigh the minds by their record in this regime, heed the rules, write the memo.

The memo follows the seeds' layout: title, `*Workshop · time*`, the bold cycle header, a rule,
first-person reasoning that cites the record and the rules, a rule, **Prediction:**, the call in
words, the tag line, a rule, and the debate footer.
"""

from __future__ import annotations

import pandas as pd

from ..predictions.tags import format_tag, parse_timeframe
from ..publish.layout import MemoParts, cycle_header, render
from .context import active_rule, mind_record
from .offline import pick
from .types import MIND_TITLES, Memo, Opinion

PRIOR_N = 5
MIN_EDGE = 0.2  # weight x confidence below this: abstain
ABSTAIN_TAG = "[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0.00]"


def record_weight(context: dict, source: str) -> tuple[float, int, int]:
    """A mind's hit rate in the current regime, shrunk toward 50% (Beta prior of 5 calls)."""
    n, hits = mind_record(context, source, context["regime"]["label"])
    return (hits + 0.5 * PRIOR_N) / (n + PRIOR_N), n, hits


def footer(debate: str, conviction: float | None, opinions: list[Opinion]) -> str:
    def pct(x):
        return "—" if x is None else f"{round(100 * x)}%"

    conf = {o.mind: (None if o.abstained else o.confidence) for o in opinions}
    return (
        f"*Debate: {debate} | Conviction: {pct(conviction)} | Macro: {pct(conf.get('macro'))} "
        f"| Flow: {pct(conf.get('flow'))} | Contrarian: {pct(conf.get('contrarian'))}*"
    )


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
            f"{written_at:%Y-%m-%d %H:%M:%S}",
            cycle_header(cycle_ts, ordinal),
            body,
            prediction,
            tag_line,
            footer_line,
        )
    )


def _describe(o: Opinion) -> str:
    who = MIND_TITLES[o.mind]
    if o.abstained:
        return f"{who} abstains: {o.abstain_reason}."
    subject = f"{o.ticker} relative to {o.relative_to}" if o.relative_to else o.ticker
    return f"{who} wants {subject} {o.direction} over {o.timeframe} at {o.confidence:.2f}."


def synthesize(context: dict, opinions: list[Opinion], debate: str) -> Memo:
    """Choose the call the record supports, or abstain, and write the memo."""
    cycle_ts = pd.Timestamp(context["cycle_ts"])
    regime = context["regime"]
    regime_name = regime["label"].replace("_", "-")
    candidates, blocked = [], []
    for o in opinions:
        if o.abstained:
            continue
        hours, _ = parse_timeframe(o.timeframe, cycle_ts)
        rule = active_rule(context, "synthesis", o.ticker, o.relative_to, hours) or active_rule(
            context, o.mind, o.ticker, o.relative_to, hours
        )
        if rule:
            blocked.append((o, rule))
            continue
        weight, n, hits = record_weight(context, o.mind)
        candidates.append((weight * o.confidence, weight, n, hits, o))
    candidates.sort(key=lambda c: (-c[0], c[4].mind))

    body = []
    # 1. Where I am: the regime and the record.
    best_line = _best_mind_line(context)
    body.append(
        f"I'm reading this cycle as {regime_name}, score {regime['score']:+.2f}. "
        f"What drives it: {regime['drivers']}. {best_line}"
    )
    # 2. What the tape says (numbers the fact check can verify).
    t = context["market"]["tickers"]
    m = context["market"]
    movers = sorted(t.items(), key=lambda kv: -abs(kv[1]["change_1d_pct"]))
    named = [k for k, _ in movers if k != "VIX"][:3]
    from .offline import move

    body.append(
        ". ".join(move(k, t[k]["change_1d_pct"]) for k in named)
        + f". VIX at {m['vix_level']:.2f}, 10Y-2Y at {m['spread_10y_2y']:.2f}, "
        f"Fed Funds at {m['fed_funds']:.2f}%."
    )
    # 3. The three minds.
    body.append(" ".join(_describe(o) for o in opinions))
    # 4. Rules and lessons.
    if context["rules"]:
        cited = " ".join(f"My rules say: {r['rule_text']}" for r in context["rules"][:3])
        body.append(cited)
    for o, rule in blocked:
        body.append(
            f"So {MIND_TITLES[o.mind]}'s call is out, however tempting: {rule['rule_text']}"
        )
    if context["lessons"]:
        lesson = context["lessons"][-1]
        body.append(f"The last lesson I wrote myself ({lesson['known_at'][:10]}): {lesson['text']}")
    written_at = cycle_ts.tz_localize("America/New_York").tz_convert("UTC").tz_localize(None)

    if not candidates or candidates[0][0] < MIN_EDGE:
        reason = (
            "every mind abstained or was ruled out"
            if not candidates
            else "no call clears the bar my record sets for this regime"
        )
        body.append(
            f"I can't predict this one, so I won't: {reason}. An honest abstention "
            "costs nothing; a forced call costs the record."
        )
        title = pick(
            context["cycle_key"] + "title-abstain",
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
            context["ordinal"],
            body,
            ["No call this cycle."],
            tag,
            footer(debate, None, opinions),
            written_at,
        )
        return Memo(title, memo_text, tag, True, None, None)

    edge, weight, n, hits, chosen = candidates[0]
    published = round(
        min(
            max(
                0.5 * chosen.confidence
                + 0.5 * weight
                + (0.03 if debate.startswith("aligned") else 0)
                - (0.03 if debate == "split" else 0),
                0.05,
            ),
            0.95,
        ),
        2,
    )
    who = MIND_TITLES[chosen.mind]
    subject = (
        f"{chosen.ticker} relative to {chosen.relative_to}" if chosen.relative_to else chosen.ticker
    )
    record_txt = f"{hits} of {n} right in {regime_name}" if n else f"no record yet in {regime_name}"
    body.append(
        f"I side with {who} ({record_txt}). Their confidence is {chosen.confidence:.2f}; "
        f"mine, after weighing the record, is {published:.2f}."
    )
    words = {"up": "higher", "down": "lower", "flat": "flat"}[chosen.direction]
    prediction = [
        f"{subject} closes {words} over the next {chosen.timeframe}. {chosen.thesis}".strip()
    ]
    band = (chosen.band_low_pct, chosen.band_high_pct) if chosen.band_low_pct is not None else None
    tag = format_tag(
        chosen.direction, chosen.ticker, chosen.relative_to, chosen.timeframe, published, band
    )
    title = _title(context, chosen)
    memo_text = render_memo(
        title,
        cycle_ts,
        context["ordinal"],
        body,
        prediction,
        tag,
        footer(debate, published, opinions),
        written_at,
    )
    return Memo(title, memo_text, tag, False, chosen.mind, published)


def _best_mind_line(context: dict) -> str:
    regime = context["regime"]["label"]
    rows = [
        r
        for r in context["track_record"]
        if r["regime"] == regime
        and r["timeframe_bucket"] == "all"
        and r["subject_kind"] == "all"
        and (r["n"] or 0) >= 5
    ]
    if not rows:
        return (
            f"My track record in {regime.replace('_', '-')} is too thin to lean on "
            "(fewer than five scored calls per mind)."
        )
    best = max(rows, key=lambda r: (r["hit_rate"], r["n"]))
    return (
        f"My track record says {MIND_TITLES[best['source']]} is my most reliable mind in "
        f"{regime.replace('_', '-')} ({best['hits']} of {best['n']} right, "
        f"mean score {best['mean_score']:.2f})."
    )


def _title(context: dict, o: Opinion) -> str:
    key = context["cycle_key"] + "title"
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
