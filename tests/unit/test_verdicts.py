"""The scoreboard's words come from intervals: no verdict contradicts the interval it reads."""

import math

from hypothesis import given
from hypothesis import strategies as st

from workshop_dagster.predictions.calibration_report import reference_brier, wilson
from workshop_dagster.predictions.verdicts import (
    BRIER_WORDS,
    HIT_WORDS,
    brier_interval,
    brier_verdict,
    hit_rate_verdict,
    reading,
)


def test_the_real_data_case_reads_wrong_beyond_chance_and_eight_of_eight_reads_its_interval():
    # On the real-data site: right in 11% of 84 (6-19%) against 49%, Brier 0.249 against 0.250.
    text = reading(9, 84, 0.49, 0.249, 0.02)
    assert text.startswith("right 11% [6%–19%] of 84 against a base rate of 49%")
    assert "wrong more often than chance" in text and "beats" not in text
    # 8 of 8: the Wilson interval (68-100%) is above 49%, and narrow enough to say so.
    assert hit_rate_verdict(8, 8, 0.49) == "right more often than chance"
    # 3 of 3 is as right, but its interval (44-100%) cannot tell it from chance.
    assert hit_rate_verdict(3, 3, 0.49) == "too few calls to judge"


@given(
    hits=st.integers(0, 400),
    extra=st.integers(0, 400),
    base=st.floats(0.05, 0.95),
)
def test_no_hit_rate_verdict_contradicts_its_interval(hits, extra, base):
    n = hits + extra
    word = hit_rate_verdict(hits, n, base)
    if n == 0:
        return
    low, high = wilson(hits, n)
    if word == HIT_WORDS["better"]:
        assert low > base
    elif word == HIT_WORDS["worse"]:
        assert high < base
    elif word == HIT_WORDS["no different"]:
        assert low <= base <= high
    else:
        assert word == HIT_WORDS["too few"] and (n < 5 or high - low > 0.5)


@given(
    mean=st.floats(0.0, 1.0),
    sd=st.floats(0.0, 0.5),
    n=st.integers(1, 500),
    base=st.floats(0.05, 0.95),
)
def test_no_brier_verdict_contradicts_its_interval(mean, sd, n, base):
    word = brier_verdict(mean, sd, n, base)
    low, high = brier_interval(mean, sd, n)
    reference = float(reference_brier(base))
    if word == BRIER_WORDS["better"]:
        assert high < reference
    elif word == BRIER_WORDS["worse"]:
        assert low > reference
    elif word == BRIER_WORDS["no different"]:
        assert low <= reference <= high
    else:
        assert word == BRIER_WORDS["too few"]
        assert n < 5 or high - low > 0.5 or math.isclose(high - low, 1.0)
