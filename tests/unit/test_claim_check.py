"""The claim check: what a memo says its figures mean, held to the figures."""

import pytest

from workshop_dagster.predictions.claim_check import bare_numbers, claim_problems


def _doc(d10=-3.0, tlt=-0.25, vix=14.0, dvix=0.4, breadth=0.45, label="risk_off", nvda=-0.8):
    tickers = {
        "TLT": {"change_1d_pct": tlt},
        "NVDA": {"change_1d_pct": nvda},
        "SPY": {"change_1d_pct": 0.3},
        "IWM": {"change_1d_pct": -1.4},
    }
    return {
        "market": {
            "tickers": tickers,
            "ust_10y_change_5obs_bp": d10,
            "vix_level": vix,
            "vix_change_1d": dvix,
            "breadth": breadth,
        },
        "regime": {"label": label, "score": -0.3, "drivers": ""},
    }


def test_the_issues_sentence_fails_for_both_its_words():
    """'Yields are falling hard: TLT down 0.25%' with the 10-year down 3bp: not hard. With the
    10-year up 5bp: not falling at all. Down 18bp: what it says."""
    text = "Yields are falling hard: TLT down 0.25%."
    assert "is not hard" in " ".join(claim_problems(text, _doc(d10=-3.0)))
    assert "but the 10Y moved +5bp" in " ".join(claim_problems(text, _doc(d10=5.0)))
    assert claim_problems(text, _doc(d10=-18.0)) == []
    assert "knows no change" in " ".join(claim_problems(text, _doc(d10=None)))


@pytest.mark.parametrize(
    "text, doc, wrong",
    [
        ("TLT is rallying on the news.", _doc(tlt=-0.25), True),
        ("TLT is rallying on the news.", _doc(tlt=0.6), False),
        ("NVDA plunging into the close.", _doc(nvda=-0.8), True),
        ("NVDA plunging into the close.", _doc(nvda=-3.1), False),
        ("NVDA sliding again.", _doc(nvda=0.5), True),
        ("I'm reading this cycle as risk-on: calm.", _doc(label="risk_off"), True),
        ("I'm reading this cycle as risk-off: stress.", _doc(label="risk_off"), False),
        ("Volatility is elevated and still rising.", _doc(vix=14.0), True),
        ("Volatility is elevated.", _doc(vix=26.0), False),
        ("VIX is falling.", _doc(dvix=0.4), True),
        ("VIX up 1.20 points on the day.", _doc(dvix=0.4), True),
        ("VIX up 0.40 points on the day.", _doc(dvix=0.4), False),
        ("Broad participation carries it.", _doc(breadth=0.45), True),
        ("Breadth is thin.", _doc(breadth=0.31), False),
        ("Breadth is middling.", _doc(breadth=0.71), True),
        ("The 10Y has fallen 18bp over its last five prints.", _doc(d10=-18.0), False),
        ("The 10Y has fallen 18bp over its last five prints.", _doc(d10=18.0), True),
    ],
)
def test_each_claim_agrees_with_the_sign_and_size_of_its_figure(text, doc, wrong):
    assert bool(claim_problems(text, doc)) is wrong, claim_problems(text, doc)


def test_the_debate_footer_names_the_minds_calls():
    footer = "*Debate: aligned_bearish | Conviction: 52% | Macro: 60% | Flow: — | Contrarian: —*"
    assert claim_problems(footer, _doc(), "aligned_bearish") == []
    problem = claim_problems(footer, _doc(), "lone_bullish")
    assert problem == [
        "the footer's debate is aligned_bearish, but the minds' calls make lone_bullish"
    ]


def test_a_cited_headline_is_a_report_not_a_claim():
    """A headline's own words ("Yields are falling hard") are what the wire said."""
    text = "On the wire at 16:10 Reuters ran [N1] “Yields are falling hard as TLT is rallying”."
    assert claim_problems(text, _doc(d10=5.0, tlt=-1.0)) == []


def test_numbers_without_a_unit_are_named():
    assert bare_numbers("Breadth at 0.69 and SPY's trend at 6.04.") == ["0.69", "6.04"]
    clean = (
        "Breadth at 69% of the tape; the 10Y has fallen 18bp; VIX at 24.54, up 1.20 points; "
        "the 10Y-2Y spread at 0.53 percentage points; SPY closing over $657.56; 1.7 times a "
        "normal week; Score: 0.8 out of 1. [N3] “Oil at 71.5 a barrel”"
    )
    assert bare_numbers(clean) == []
    # The tag line and the footer are the machine-readable format, not prose.
    assert bare_numbers("[DIRECTION: up (TLT)] [TIMEFRAME: 1w] [CONFIDENCE: 0.53]") == []
