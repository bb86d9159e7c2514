"""What the record's probabilities were worth, counted in outcomes: reliability per bin with
intervals, expected calibration error, and the Brier score's decomposition, per source and month.

An *outcome* is what calls of one source with the same subject, direction, entry and exit share
(docs/scoring.md, "Outcomes counted once"): it is counted once, at the mean probability its calls
were scored at. The Brier decomposition is Murphy's, over tenth-wide probability bins:
Brier ≈ reliability − resolution + uncertainty (exact when the probabilities within a bin are
equal), with reliability the calibration error (lower is better), resolution how far the bins'
hit rates sit from the overall one (higher is better) and uncertainty ō(1 − ō) what no forecaster
can remove.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .scoring import COIN

BINS = 10
OUTCOME_KEY = ["source", "ticker", "relative_to", "direction", "entry_ts", "exit_ts"]


def wilson(hits: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a hit rate."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def outcomes(scores: pd.DataFrame, carry: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per outcome of the scored calls in `scores` (prediction_scores rows): source,
    subject, direction, entry and exit, the first call's cycle time, `n_calls`, `hit`, the mean
    `probability` its calls were scored at (never under 0.5) and their mean `brier`, and each
    column of `carry` that `scores` has, aggregated as it says ("first", "mean"). The same
    grouping as the track record's SQL (`track_record.sql`)."""
    carry = {c: how for c, how in (carry or {}).items() if c in scores}
    scored = scores[scores["status"] == "scored"] if "status" in scores else scores.iloc[0:0]
    if scored.empty:
        return pd.DataFrame(
            columns=[*OUTCOME_KEY, "cycle_ts", "n_calls", "hit", "probability", "brier", *carry]
        )
    probability = scored["confidence"].astype(float).clip(lower=COIN)
    frame = scored.assign(
        relative_to=scored["relative_to"].fillna("") if "relative_to" in scored else "",
        hit=scored["hit"].astype(bool),
        probability=probability,
        brier=(probability - scored["hit"].astype(float)) ** 2,
    )
    grouped = frame.groupby(OUTCOME_KEY, dropna=False, sort=False).agg(
        cycle_ts=("cycle_ts", "min"),
        n_calls=("hit", "size"),
        hit=("hit", "all"),
        probability=("probability", "mean"),
        brier=("brier", "mean"),
        **{c: (c, how) for c, how in carry.items()},
    )
    return grouped.reset_index().sort_values(["cycle_ts", "source"], kind="stable")


def expected_calibration_error(probability: np.ndarray, hit: np.ndarray) -> float:
    """Σ_b (n_b / N) |mean probability_b − hit rate_b| over tenth-wide probability bins."""
    p = np.asarray(probability, dtype=float)
    o = np.asarray(hit, dtype=float)
    if len(p) == 0:
        return float("nan")
    which = _bin(p)
    total = 0.0
    for b in np.unique(which):
        mask = which == b
        total += mask.sum() * abs(p[mask].mean() - o[mask].mean())
    return float(total / len(p))


def _bin(probability: np.ndarray) -> np.ndarray:
    return np.minimum((probability * BINS).astype(int), BINS - 1) / BINS


def reliability(frame: pd.DataFrame) -> pd.DataFrame:
    """Per probability bin of `outcomes` rows: n, mean probability, hit rate and its 95% Wilson
    interval (on the outcomes: calls counted once)."""
    if frame.empty:
        return pd.DataFrame(columns=["bin_low", "n", "probability", "hit_rate", "low", "high"])
    rows = []
    for low, group in frame.groupby(_bin(frame["probability"].to_numpy(dtype=float))):
        n, hits = len(group), int(group["hit"].sum())
        lo, hi = wilson(hits, n)
        rows.append(
            {
                "bin_low": float(low),
                "n": n,
                "probability": float(group["probability"].mean()),
                "hit_rate": hits / n,
                "low": lo,
                "high": hi,
            }
        )
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> dict:
    """n outcomes, n calls, hit rate, Brier, ECE and the Brier decomposition of `outcomes`."""
    n = len(frame)
    out = {
        "n_outcomes": n,
        "n_calls": int(frame["n_calls"].sum()) if n else 0,
        "hit_rate": float("nan"),
        "brier": float("nan"),
        "ece": float("nan"),
        "reliability": float("nan"),
        "resolution": float("nan"),
        "uncertainty": float("nan"),
    }
    if n == 0:
        return out
    p = frame["probability"].to_numpy(dtype=float)
    o = frame["hit"].to_numpy(dtype=float)
    base = o.mean()
    which = _bin(p)
    rel = res = 0.0
    for b in np.unique(which):
        mask = which == b
        weight = mask.sum() / n
        rel += weight * (p[mask].mean() - o[mask].mean()) ** 2
        res += weight * (o[mask].mean() - base) ** 2
    return out | {
        "hit_rate": float(base),
        "brier": float(np.mean((p - o) ** 2)),
        "ece": expected_calibration_error(p, o),
        "reliability": float(rel),
        "resolution": float(res),
        "uncertainty": float(base * (1 - base)),
    }


def monthly(frame: pd.DataFrame) -> pd.DataFrame:
    """`summary` per source and calendar month of the outcomes' first call, and per source over
    all months (month 'all'), sources in name order, months in time order."""
    rows = []
    if frame.empty:
        return pd.DataFrame(columns=["source", "month", *summary(frame)])
    months = pd.to_datetime(frame["cycle_ts"]).dt.strftime("%Y-%m")
    for source, group in frame.groupby("source", sort=True):
        for month, part in group.groupby(months[group.index], sort=True):
            rows.append({"source": source, "month": month, **summary(part)})
        rows.append({"source": source, "month": "all", **summary(group)})
    return pd.DataFrame(rows)


def reference_brier(base_rate):
    """The Brier score of the forecaster who states the base rate on every call, never under
    0.5 like every call: r(1 - r) with r = max(b, 0.5), at most 0.25, what the Brier skill
    score is measured against (a wrong call at 0.5 or more costs 0.25 or more). A number, or
    an array of base rates."""
    r = np.maximum(base_rate, COIN)
    return r * (1 - r)


def skill_verdict(n: int, hits: int, brier: float | None, skill: float | None, base: float | None):
    """Why a source's Brier skill is what it is, in words, for the scoreboard."""
    if not n:
        return "no outcome yet"
    if skill is None or brier is None or base is None or pd.isna(skill):
        return "no base rate yet"
    reference = reference_brier(base)
    if skill > 0:
        return (
            f"beats stating the base rate ({100 * base:.0f}%) on every call: Brier {brier:.3f} "
            f"against {reference:.3f}"
        )
    why = (
        f"no skill: Brier {brier:.3f} against {reference:.3f} for stating the base rate "
        f"({100 * base:.0f}%) on every call"
    )
    if hits / n < 0.5:
        why += (
            f"; right in {hits} of {n} outcomes, and a call is scored at a probability of 0.5 "
            "or more, so being wrong is never credited"
        )
    return why
