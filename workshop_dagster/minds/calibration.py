"""From a mind's stated confidence to the probability the synthesis publishes.

The method is hierarchical shrinkage on the record known at the cycle (docs/evaluation.md):

1. the base rate b: the hit rate of every scored call so far (0.5 before any);
2. the mind's rate in the current regime, shrunk toward b with `REGIME_PRIOR` pseudo-calls:
   r = (hits + K1 * b) / (n + K1);
3. the hit rate of the mind's calls stated at the same confidence (its tenth-wide calibration
   bin, all regimes), shrunk toward r with `BIN_PRIOR` pseudo-calls:
   p = (bin_hits + K2 * r) / (bin_n + K2).

With no record p is the base rate; as evidence accumulates p follows what the mind's calls at that
confidence actually achieved. Every input is a row of the context, which holds only scores known
at the cycle time, so the probability uses nothing from after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import mind_record

REGIME_PRIOR = 20
BIN_PRIOR = 20
RELIABLE_N = 30  # scored calls in a regime before a mind's record there can earn trust
RELIABLE_MARGIN = 0.03  # shrunk hit rate above the base rate that makes a mind reliable
FLOOR, CEILING = 0.05, 0.95


@dataclass(frozen=True)
class Calibrated:
    stated: float
    probability: float
    base_rate: float
    regime_n: int
    regime_hits: int
    bin_n: int
    bin_hits: int

    def explain(self, regime_name: str) -> str:
        """How the record turned the stated confidence into the probability, in words."""
        parts = []
        if self.regime_n:
            parts.append(f"{self.regime_hits} of {self.regime_n} right in {regime_name}")
        if self.bin_n:
            parts.append(f"{self.bin_hits} of {self.bin_n} right when it says {self.stated:.1f}")
        if not parts:
            return f"with no record yet, that is the base rate, {self.base_rate:.2f}"
        return "on its record (" + "; ".join(parts) + f"; base rate {self.base_rate:.2f})"


def base_rate(context: dict) -> float:
    """The hit rate of every scored call known at the cycle (0.5 before any)."""
    for row in context["track_record"]:
        if row.get("base_rate") is not None:
            return float(row["base_rate"])
    return 0.5


def _bin(context: dict, source: str, confidence: float) -> tuple[int, int]:
    low = min(int(confidence * 10), 9) / 10
    for row in context.get("calibration", []):
        if row["source"] == source and abs(float(row["bin_low"]) - low) < 1e-9:
            n = int(row["n"] or 0)
            return n, round(n * float(row["hit_rate"] or 0))
    return 0, 0


def regime_rate(context: dict, source: str) -> tuple[float, int, int]:
    """A source's hit rate in the current regime shrunk toward the base rate, with (n, hits)."""
    b = base_rate(context)
    n, hits = mind_record(context, source, context["regime"]["label"])
    return (hits + REGIME_PRIOR * b) / (n + REGIME_PRIOR), n, hits


def calibrate(context: dict, source: str, confidence: float) -> Calibrated:
    """The probability that a call stated at `confidence` by `source` is right."""
    b = base_rate(context)
    r, n, hits = regime_rate(context, source)
    bin_n, bin_hits = _bin(context, source, confidence)
    p = (bin_hits + BIN_PRIOR * r) / (bin_n + BIN_PRIOR)
    return Calibrated(
        stated=round(float(confidence), 2),
        probability=round(min(max(p, FLOOR), CEILING), 2),
        base_rate=round(b, 4),
        regime_n=n,
        regime_hits=hits,
        bin_n=bin_n,
        bin_hits=bin_hits,
    )


def reliable_minds(context: dict, minds: tuple[str, ...]) -> list[tuple[str, float, int, int]]:
    """Minds whose record in the current regime is long enough and beats the base rate:
    (mind, shrunk rate, n, hits), best first."""
    b = base_rate(context)
    out = []
    for mind in minds:
        rate, n, hits = regime_rate(context, mind)
        if n >= RELIABLE_N and rate >= b + RELIABLE_MARGIN:
            out.append((mind, rate, n, hits))
    return sorted(out, key=lambda m: (-m[1], m[0]))
