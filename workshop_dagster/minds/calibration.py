"""From a mind's stated confidence to the probability the synthesis publishes.

The method is hierarchical shrinkage on the record known at the cycle (docs/evaluation.md):

1. the base rate b: the hit rate of every scored call so far, shrunk toward 0.5 with
   `BASE_PRIOR` pseudo-calls;
2. the hit rate of the mind's calls in the same direction (up, down or flat), shrunk toward b
   with `DIRECTION_PRIOR` pseudo-calls: r = (hits + K1 * b) / (n + K1);
3. the hit rate of the mind's calls in that direction stated at the same confidence (its
   tenth-wide calibration bin), shrunk toward r with `BIN_PRIOR` pseudo-calls:
   p = (bin_hits + K2 * r) / (bin_n + K2).

With no record p is the base rate; as evidence accumulates p follows what the mind's calls of that
kind actually achieved. Every input is a row of the context, which holds only scores known at the
cycle time, so the probability uses nothing from after it. Trust by regime (which mind to follow)
is decided separately, from each mind's record in the current regime.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.variants import CALIBRATION_PRIORS
from ..predictions.scoring import COIN
from .context import mind_record
from .cycle_context import CycleContext

BASE_PRIOR = 20
DIRECTION_PRIOR = 20
BIN_PRIOR = 60
REGIME_PRIOR = 20
RELIABLE_N = 30  # scored calls in a regime before a mind's record there can earn trust
RELIABLE_MARGIN = 0.03  # shrunk hit rate above the base rate that makes a mind reliable
FLOOR, CEILING = 0.05, 0.95
# The pseudo-calls of each step, by the name a variant's `calibration` gives them.
PRIORS = dict(
    zip(CALIBRATION_PRIORS, (BASE_PRIOR, DIRECTION_PRIOR, BIN_PRIOR, REGIME_PRIOR), strict=True)
)


def _prior(context: CycleContext, name: str) -> int:
    """The pseudo-calls of step `name`: the variant's (the context's `priors`) or the loop's."""
    return (context.priors or {}).get(name, PRIORS[name])


@dataclass(frozen=True)
class Calibrated:
    stated: float
    direction: str
    probability: float
    base_rate: float
    direction_n: int
    direction_hits: int
    bin_low: float
    bin_n: int
    bin_hits: int

    def explain(self) -> str:
        """How the record turned the stated confidence into the probability, in words."""
        parts = []
        if self.direction_n:
            parts.append(
                f"{self.direction_hits} of {self.direction_n} right calling {self.direction}"
            )
        if self.bin_n:
            low = round(100 * self.bin_low)
            parts.append(f"{self.bin_hits} of {self.bin_n} when it says {low}-{low + 10}%")
        if not parts:
            return f"with no record yet, that is the base rate, {100 * self.base_rate:.0f}%"
        return "on its record (" + "; ".join(parts) + f"; base rate {100 * self.base_rate:.0f}%)"


def base_rate(context: CycleContext) -> float:
    """The hit rate of every scored call known at the cycle, shrunk toward 0.5 with
    `BASE_PRIOR` pseudo-calls (the first few scores must not make the loop sure of anything)."""
    rate, n = None, 0
    for row in context.track_record:
        overall = (row["regime"], row["timeframe_bucket"], row["subject_kind"]) == ("all",) * 3
        if overall:
            n += int(row["n"] or 0)
            if row.get("base_rate") is not None:
                rate = float(row["base_rate"])
    if rate is None or n == 0:
        return 0.5
    k = _prior(context, "base")
    return (rate * n + 0.5 * k) / (n + k)


def _calibration(context: CycleContext, source: str, direction: str) -> tuple[dict, int, int]:
    """The source's calibration rows in a direction by bin, and their (n, hits) in total."""
    bins, n, hits = {}, 0, 0
    for row in context.calibration:
        if row["source"] == source and row.get("direction", "all") == direction:
            rn = int(row["n"] or 0)
            rh = round(rn * float(row["hit_rate"] or 0))
            bins[round(float(row["bin_low"]), 1)] = (rn, rh)
            n, hits = n + rn, hits + rh
    return bins, n, hits


def regime_rate(context: CycleContext, source: str) -> tuple[float, int, int]:
    """A source's hit rate in the current regime shrunk toward the base rate, with (n, hits)."""
    b = base_rate(context)
    n, hits = mind_record(context, source, context.regime.label)
    k = _prior(context, "regime")
    return (hits + k * b) / (n + k), n, hits


def calibrate(context: CycleContext, source: str, confidence: float, direction: str) -> Calibrated:
    """The probability that a call in `direction` stated at `confidence` by `source` is right."""
    b = base_rate(context)
    bins, n, hits = _calibration(context, source, direction)
    k1, k2 = _prior(context, "direction"), _prior(context, "bin")
    r = (hits + k1 * b) / (n + k1)
    low = min(int(confidence * 10), 9) / 10
    bin_n, bin_hits = bins.get(low, (0, 0))
    p = (bin_hits + k2 * r) / (bin_n + k2)
    return Calibrated(
        stated=round(float(confidence), 2),
        direction=direction,
        probability=round(min(max(p, FLOOR), CEILING), 2),
        base_rate=round(b, 4),
        direction_n=n,
        direction_hits=hits,
        bin_low=low,
        bin_n=bin_n,
        bin_hits=bin_hits,
    )


def reliable_minds(
    context: CycleContext, minds: tuple[str, ...]
) -> list[tuple[str, float, int, int]]:
    """Minds whose record in the current regime is long enough and beats the base rate:
    (mind, shrunk rate, n, hits), best first."""
    b = base_rate(context)
    out = []
    for mind in minds:
        rate, n, hits = regime_rate(context, mind)
        if n >= RELIABLE_N and rate >= b + RELIABLE_MARGIN:
            out.append((mind, rate, n, hits))
    return sorted(out, key=lambda m: (-m[1], m[0]))


def call_probability(context: CycleContext, source: str, stated: float, direction: str) -> float:
    """The probability a mind's call is scored at: what its record as of the cycle gives its
    stated number (`calibrate`), never under a coin flip. A call the record rates below 0.5
    still asserted its direction: it counts at 0.5, not as the opposite call, so no source
    earns skill by being reliably wrong."""
    return max(COIN, calibrate(context, source, stated, direction).probability)
