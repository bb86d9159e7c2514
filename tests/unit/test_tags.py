"""The tag parser: the seeds' forms, the forms models write, and never a silent default."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workshop_dagster.predictions.tags import ParsedCall, format_tag, parse_tag

CYCLE = pd.Timestamp("2026-03-30 19:15")  # seed 004's cycle, a Monday evening


def test_seed_004_tag(seeds_dir):
    text = (seeds_dir / "004_bbb9e6be7f613d33.txt").read_text()
    call = parse_tag(text, CYCLE)
    assert call.parse_status == "parsed"
    assert (call.ticker, call.relative_to, call.direction) == ("IWM", "META", "down")
    assert call.subject == "IWM vs META"
    assert call.timeframe_hours == 48.0 and call.horizon_sessions == 2
    assert call.horizon_end == pd.Timestamp("2026-04-01 16:00")  # "by end of April 1"
    assert call.confidence == 0.45
    assert (
        call.raw_tag
        == "[DIRECTION: down (IWM relative to META)] [TIMEFRAME: 48h] [CONFIDENCE: 0.45]"
    )


def test_seed_000_has_no_tag_and_is_an_error_not_a_call(seeds_dir):
    text = (seeds_dir / "000_841965c04fcd1240.txt").read_text()
    call = parse_tag(text, CYCLE)
    assert call.parse_status == "error"
    assert "no [DIRECTION" in call.parse_error
    assert call.direction is None and call.confidence is None


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        (
            "[direction:UP QQQ] [timeframe: 48 hours][confidence: 45%]",
            ("QQQ", None, "up", 48.0, 0.45),
        ),
        (
            "[ DIRECTION : down (SPY) ]  [ TIMEFRAME : 1w ]  [ CONFIDENCE : .6 ]",
            ("SPY", None, "down", 168.0, 0.6),
        ),
        (
            "[DIRECTION: IWM underperforms META] [TIMEFRAME: by end of April 1] [CONFIDENCE: 45]",
            ("IWM", "META", "down", 44.75, 0.45),
        ),
        (
            "[DIRECTION: up (IWM vs QQQ)] [TIMEFRAME: 2 days] [CONFIDENCE: 0.4]",
            ("IWM", "QQQ", "up", 48.0, 0.4),
        ),
        (
            "[DIRECTION: bearish NVDA] [TIMEFRAME: 3 trading days] [CONFIDENCE: 0.35]",
            ("NVDA", None, "down", 72.0, 0.35),
        ),
        (
            "[DIRECTION: flat (SPY)] [TIMEFRAME: tomorrow] [CONFIDENCE: 0.5]",
            ("SPY", None, "flat", 24.0, 0.5),
        ),
        (
            "[DIRECTION: higher TLT] [TIMEFRAME: 1m] [CONFIDENCE: 55%]",
            ("TLT", None, "up", 720.0, 0.55),
        ),
    ],
)
def test_forms_models_write(tag, expected):
    call = parse_tag(tag, CYCLE)
    assert call.parse_status == "parsed", call.parse_error
    assert (
        call.ticker,
        call.relative_to,
        call.direction,
        call.timeframe_hours,
        call.confidence,
    ) == expected


def test_magnitude_band_is_signed_by_direction():
    call = parse_tag("[DIRECTION: down 0.8-1.8% (QQQ)] [TIMEFRAME: 24h] [CONFIDENCE: 0.3]", CYCLE)
    assert (call.band_low_pct, call.band_high_pct) == (-1.8, -0.8)
    up = parse_tag("[DIRECTION: up 1% to 2% (IWM)] [TIMEFRAME: 48h] [CONFIDENCE: 0.3]", CYCLE)
    assert (up.band_low_pct, up.band_high_pct) == (1.0, 2.0)


def test_weekend_horizon_uses_the_trading_calendar():
    friday = pd.Timestamp("2026-03-27 19:15")
    call = parse_tag("[DIRECTION: up (SPY)] [TIMEFRAME: 48h] [CONFIDENCE: 0.5]", friday)
    assert call.horizon_end == pd.Timestamp("2026-03-31 16:00")  # Monday, Tuesday
    good_friday_week = parse_tag("[DIRECTION: up (SPY)] [TIMEFRAME: 1w] [CONFIDENCE: 0.5]", CYCLE)
    assert good_friday_week.horizon_end == pd.Timestamp("2026-04-07 16:00")


def test_abstention_is_its_own_status():
    call = parse_tag("[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]", CYCLE)
    assert call.parse_status == "abstained" and call.direction is None


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("[DIRECTION: sideways] [TIMEFRAME: 48h] [CONFIDENCE: 0.4]", "no subject"),
        ("[DIRECTION: up (TSLA)] [TIMEFRAME: soon] [CONFIDENCE: 0.6]", "does not resolve"),
        ("[DIRECTION: up (TSLA)] [TIMEFRAME: 48h] [CONFIDENCE: 1.4]", "neither a probability"),
        ("[DIRECTION: up (TSLA)] [TIMEFRAME: 48h] [CONFIDENCE: 140%]", "outside [0, 1]"),
        ("[DIRECTION: up (TSLA)] [CONFIDENCE: 0.4]", "no TIMEFRAME"),
        ("[DIRECTION: up (TSLA)] [TIMEFRAME: 48h]", "no CONFIDENCE"),
        ("[DIRECTION: maybe (TSLA)] [TIMEFRAME: 48h] [CONFIDENCE: 0.4]", "no direction"),
    ],
)
def test_malformed_tags_are_errors_with_reasons(tag, reason):
    call = parse_tag(tag, CYCLE)
    assert call.parse_status == "error"
    assert reason in call.parse_error


def test_the_last_tag_in_a_memo_wins():
    text = (
        "Yesterday I wrote [DIRECTION: up (SPY)] [TIMEFRAME: 24h] [CONFIDENCE: 0.6].\n\n"
        "[DIRECTION: down (QQQ)] [TIMEFRAME: 48h] [CONFIDENCE: 0.4]"
    )
    assert parse_tag(text, CYCLE).ticker == "QQQ"


@pytest.mark.parametrize("relative_to", [None, "META"])
def test_format_and_parse_round_trip(relative_to):
    tag = format_tag("down", "IWM", relative_to, "48h", 0.45, (-1.8, -0.8))
    call = parse_tag(tag, CYCLE)
    assert (call.ticker, call.relative_to, call.direction, call.confidence) == (
        "IWM",
        relative_to,
        "down",
        0.45,
    )
    assert (call.band_low_pct, call.band_high_pct) == (-1.8, -0.8)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text):
    call = parse_tag(text, CYCLE)
    assert isinstance(call, ParsedCall)
    assert call.parse_status in ("parsed", "abstained", "error")
    if call.parse_status == "parsed":
        assert call.direction in ("up", "down", "flat") and 0 <= call.confidence <= 1
    if call.parse_status == "error":
        assert call.parse_error


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["DIRECTION", "direction", "Direction"]),
    st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=40),
    st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=20),
    st.text(alphabet=st.characters(blacklist_characters="[]"), max_size=12),
)
def test_tag_shaped_noise_is_parsed_or_rejected(key, direction, timeframe, confidence):
    text = f"[{key}: {direction}] [TIMEFRAME: {timeframe}] [CONFIDENCE: {confidence}]"
    call = parse_tag(text, CYCLE)
    assert call.parse_status in ("parsed", "abstained", "error")
    assert (call.parse_status == "error") == bool(call.parse_error)
