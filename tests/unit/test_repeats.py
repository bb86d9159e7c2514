"""A daily-scored call made again between the same two closes is withdrawn, not counted twice."""

import pandas as pd

from workshop_dagster.minds.loop import prediction_records
from workshop_dagster.minds.repeats import RepeatGuard, synthesis_rule
from workshop_dagster.minds.types import Opinion

MINUTE = frozenset({"SPY", "QQQ"})  # quoted at the minute; VIX is not (no intraday bars)


def _vix_up(mind: str = "contrarian", direction: str = "up") -> Opinion:
    return Opinion(
        mind=mind,
        stance="bearish",
        narrative="Volatility is cheap.",
        ticker="VIX",
        direction=direction,
        timeframe="1w",
        confidence=0.6,
    )


def _spy_up(mind: str = "flow") -> Opinion:
    return Opinion(
        mind, "bullish", "Breadth.", ticker="SPY", direction="up", timeframe="1w", confidence=0.6
    )


def _cycle(
    guard: RepeatGuard, key: str, opinions: list[Opinion], memo: str = "", quotes=None
) -> list[Opinion]:
    """One cycle; SPY and QQQ quoted at the minute, by default from the bar ended at its time."""
    ts = pd.Timestamp(key[:10] + " " + key[11:])
    quotes = quotes or dict.fromkeys(MINUTE, ts)
    rows = prediction_records(key, ts, "risk_on", memo, opinions, quotes)
    kept = guard.withdraw(opinions, rows)
    guard.record(prediction_records(key, ts, "risk_on", memo, kept, quotes))
    return kept


def test_the_same_mind_repeating_a_daily_scored_call_before_the_next_close_abstains():
    guard = RepeatGuard()
    (first,) = _cycle(guard, "2026-03-30-09:45", [_vix_up()])
    assert not first.abstained
    (again,) = _cycle(guard, "2026-03-30-10:15", [_vix_up()])
    assert again.abstained and again.ticker is None
    assert "repeats my call of 2026-03-30 09:45" in again.abstain_reason
    # Another direction is another outcome; after the next close, a new entry.
    (other,) = _cycle(guard, "2026-03-30-10:45", [_vix_up(direction="down")])
    assert not other.abstained
    (next_day,) = _cycle(guard, "2026-03-31-09:45", [_vix_up()])
    assert not next_day.abstained


def test_a_call_at_the_minute_repeats_only_from_the_same_quotes():
    guard = RepeatGuard()
    _cycle(guard, "2026-03-30-09:45", [_spy_up()])
    (again,) = _cycle(guard, "2026-03-30-10:15", [_spy_up()])
    assert not again.abstained  # a new bar: it enters at its own cycle's price
    # An evening in which SPY does not trade: 19:15 and 19:45 both see the 17:05 bar, and a
    # call with the same horizon (Wednesday's close) would be the same outcome.
    quiet = dict.fromkeys(MINUTE, pd.Timestamp("2026-03-30 17:05"))
    (evening,) = _cycle(guard, "2026-03-30-19:15", [_spy_up()], quotes=quiet)
    (later,) = _cycle(guard, "2026-03-30-19:45", [_spy_up()], quotes=quiet)
    assert not evening.abstained and later.abstained
    assert "repeats my call of 2026-03-30 19:15" in later.abstain_reason
    # A pair is the same outcome only if both legs' quotes are the same.
    pair = Opinion(
        "flow",
        "bullish",
        "Size.",
        ticker="SPY",
        relative_to="QQQ",
        direction="up",
        timeframe="1w",
        confidence=0.6,
    )
    _cycle(guard, "2026-03-31-19:15", [pair], quotes=quiet)
    moved = {**quiet, "QQQ": pd.Timestamp("2026-03-31 19:40")}
    (other,) = _cycle(guard, "2026-03-31-19:45", [pair], quotes=moved)
    assert not other.abstained


def test_the_synthesis_may_not_publish_its_own_daily_scored_call_again():
    guard = RepeatGuard()
    memo = "[DIRECTION: up (VIX)] [TIMEFRAME: 1w] [CONFIDENCE: 0.6]"
    _cycle(guard, "2026-03-30-09:45", [_vix_up()], memo=memo)
    # At 10:15 Macro makes the call for the first time: it stands for Macro, but the synthesis
    # already published it on the same closes.
    contrarian, macro = _cycle(guard, "2026-03-30-10:15", [_vix_up(), _vix_up("macro")])
    assert contrarian.abstained and not macro.abstained
    assert macro.synthesis_repeat == "2026-03-30-09:45"
    assert "the same outcome would count twice" in synthesis_rule(macro)["rule_text"]
    assert synthesis_rule(_vix_up("macro")) is None
