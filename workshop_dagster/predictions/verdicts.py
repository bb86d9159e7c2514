"""What a source's record says, in words that come from intervals, never from a point difference.

A hit rate is judged against the base rate by its 95% Wilson interval: right more often than
chance when the whole interval is above the base rate, wrong more often than chance when it is
all below, no better than chance when it straddles it, too few to judge when the calls are
under MIN_CALLS or the interval is wider than WIDE. A Brier score is judged against stating the
base rate on every call the same way, by the interval of its mean. The scoreboard on the site,
the console's and the UI's read these words; the evaluation's report reads the same rule on its
block-bootstrap intervals. A source right in 11% of 84 calls (6-19%) against a base rate of 49%
reads "wrong more often than chance", whatever a Brier 0.001 below the reference would suggest.
"""

from __future__ import annotations

import math

from .calibration_report import reference_brier, wilson

MIN_CALLS = 5
WIDE = 0.5  # an interval this wide says nothing either way
Z = 1.96
# How the probability floor enters the reading, said once wherever the verdicts are shown.
FLOOR_NOTE = (
    "A call's probability is never under 0.5 (a call names the likelier direction), so a source "
    "that is mostly wrong still scores close to a coin's Brier of 0.25: read how wrong it is "
    "from its hit rate against the base rate, not from its Brier."
)


def _number(value) -> float | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


def record_figures(row) -> tuple[int, int, float | None, float | None, float | None]:
    """(hits, n, base rate, Brier, Brier's spread) of a track_record row, missing as None: what
    the readings below take."""
    return (
        int(row.get("hits") or 0),
        int(row.get("n") or 0),
        _number(row.get("base_rate")),
        _number(row.get("brier")),
        _number(row.get("brier_sd")),
    )


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def against_chance(low: float, high: float, reference: float, n: int, higher_is_better: bool):
    """'better', 'worse', 'no different' or 'too few' for an interval against a reference."""
    if n < MIN_CALLS or high - low > WIDE:
        return "too few"
    if low > reference:
        return "better" if higher_is_better else "worse"
    if high < reference:
        return "worse" if higher_is_better else "better"
    return "no different"


HIT_WORDS = {
    "too few": "too few calls to judge",
    "better": "right more often than chance",
    "worse": "wrong more often than chance",
    "no different": "no better or worse than chance",
}
BRIER_WORDS = {
    "too few": "too few calls to judge",
    "better": "beats stating the base rate",
    "worse": "worse than stating the base rate",
    "no different": "no better or worse than stating the base rate",
}


def hit_rate_verdict(hits: int, n: int, base: float | None) -> str:
    """The words for a hit rate against the base rate (HIT_WORDS), from its Wilson interval."""
    if not n:
        return "no call scored yet"
    if base is None or math.isnan(base):
        return "no base rate yet"
    low, high = wilson(hits, n)
    return HIT_WORDS[against_chance(low, high, base, n, higher_is_better=True)]


def hit_rate_figures(hits: int, n: int) -> str:
    """'11% [6–19%] of 84'."""
    if not n:
        return "—"
    low, high = wilson(hits, n)
    return f"{pct(hits / n)} [{pct(low)}–{pct(high)}] of {n}"


def hit_rate_reading(hits: int, n: int, base: float | None) -> str:
    """'right 11% [6–19%] of 84 against a base rate of 49%: wrong more often than chance'."""
    if not n:
        return "no call scored yet"
    figures = f"right {hit_rate_figures(hits, n)}"
    if base is None or math.isnan(base):
        return f"{figures}: no base rate yet"
    return f"{figures} against a base rate of {pct(base)}: {hit_rate_verdict(hits, n, base)}"


def brier_interval(mean: float, sd: float | None, n: int) -> tuple[float, float]:
    """95% normal interval of a mean Brier score from its calls' standard deviation."""
    if n < 2 or sd is None or math.isnan(sd):
        return 0.0, 1.0
    half = Z * sd / math.sqrt(n)
    return max(0.0, mean - half), mean + half


def brier_verdict(mean: float | None, sd: float | None, n: int, base: float | None) -> str:
    """The words for a Brier score against stating the base rate (BRIER_WORDS)."""
    if not n or mean is None or math.isnan(mean):
        return "no Brier score yet"
    if base is None or math.isnan(base):
        return "no base rate yet"
    low, high = brier_interval(mean, sd, n)
    return BRIER_WORDS[against_chance(low, high, reference_brier(base), n, higher_is_better=False)]


def brier_figures(mean: float | None, sd: float | None, n: int) -> str:
    """'0.249 [0.231–0.267]'."""
    if not n or mean is None or math.isnan(mean):
        return "—"
    low, high = brier_interval(mean, sd, n)
    return f"{mean:.3f} [{low:.3f}–{high:.3f}]"


def brier_reading(mean: float | None, sd: float | None, n: int, base: float | None) -> str:
    """'Brier 0.249 [0.231–0.267] against 0.250 for stating the base rate: no better ...'."""
    if not n or mean is None or math.isnan(mean):
        return "no Brier score yet"
    if base is None or math.isnan(base):
        return f"Brier {mean:.3f}: no base rate yet"
    reference = float(reference_brier(base))
    return (
        f"Brier {brier_figures(mean, sd, n)} against {reference:.3f} for stating the base "
        f"rate: {brier_verdict(mean, sd, n, base)}"
    )


def reading(
    hits: int, n: int, base: float | None, brier: float | None, brier_sd: float | None
) -> str:
    """A record's row in words: its hit rate, then its Brier score, each judged by its interval."""
    return f"{hit_rate_reading(hits, n, base)}; {brier_reading(brier, brier_sd, n, base)}"
