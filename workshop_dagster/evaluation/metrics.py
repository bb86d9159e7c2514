"""Forecast quality of a set of scored calls: hit rate, Brier, Brier skill, calibration error.

Every figure is computed from `prediction_scores`-shaped rows: `status` ('scored' or
'abstained'), `hit`, `confidence` (the stated probability that the call is right) and
`reference` (the base rate known at the call's cycle, for the Brier skill score).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 10


def expected_calibration_error(confidence: np.ndarray, hit: np.ndarray, bins: int = BINS) -> float:
    """Σ_b (n_b / N) |mean confidence_b − hit rate_b| over tenth-wide confidence bins."""
    confidence = np.asarray(confidence, dtype=float)
    hit = np.asarray(hit, dtype=float)
    if len(confidence) == 0:
        return float("nan")
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in np.unique(which):
        mask = which == b
        total += mask.sum() * abs(confidence[mask].mean() - hit[mask].mean())
    return float(total / len(confidence))


def reliability_bins(frame: pd.DataFrame, bins: int = BINS) -> pd.DataFrame:
    """Per confidence bin: n, mean stated confidence, realized hit rate (scored calls only)."""
    scored = frame[frame["status"] == "scored"]
    conf = scored["confidence"].astype(float)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    grouped = (
        scored.assign(bin=which / bins, hit_value=scored["hit"].astype(float))
        .groupby("bin")
        .agg(
            n=("hit_value", "size"),
            confidence=("confidence", "mean"),
            hit_rate=("hit_value", "mean"),
        )
        .reset_index()
    )
    return grouped


def summarize(frame: pd.DataFrame) -> dict:
    """n, hit rate, Brier, Brier skill vs the base rate known at each cycle, ECE, abstention."""
    scored = frame[frame["status"] == "scored"]
    abstained = int((frame["status"] == "abstained").sum())
    decided = len(scored) + abstained
    out = {
        "n": int(len(scored)),
        "hit_rate": float("nan"),
        "brier": float("nan"),
        "brier_skill": float("nan"),
        "ece": float("nan"),
        "abstention_rate": abstained / decided if decided else float("nan"),
    }
    if scored.empty:
        return out
    hit = scored["hit"].astype(float).to_numpy()
    conf = scored["confidence"].astype(float).to_numpy()
    ref = scored["reference"].astype(float).to_numpy()
    brier = float(np.mean((conf - hit) ** 2))
    ref_brier = float(np.mean((ref - hit) ** 2))
    out |= {
        "hit_rate": float(hit.mean()),
        "brier": brier,
        "brier_skill": 1 - brier / ref_brier if ref_brier > 0 else float("nan"),
        "ece": expected_calibration_error(conf, hit),
    }
    return out
