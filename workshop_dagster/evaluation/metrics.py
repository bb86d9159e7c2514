"""Forecast quality of a set of scored calls, counted in outcomes: hit rate, Brier, Brier skill,
calibration error, with moving-block bootstrap intervals over days.

Every figure is computed from `prediction_scores`-shaped rows: `status` ('scored' or
'abstained'), `hit`, `confidence` (the probability that the call is right, 0.5 or more) and
`reference` (the base rate known at the call's cycle, for the Brier skill score). Calls of one
source with the same subject, direction, entry and exit are one outcome, counted once
(`calibration_report.outcomes`); calls whose horizons overlap are correlated, so intervals come
from a moving-block bootstrap over trading days with blocks as long as the longest horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..predictions.bootstrap import block_draws, day_blocks, interval, per_day, resampled_mean
from ..predictions.calibration_report import (
    OUTCOME_KEY,
    expected_calibration_error,
    outcomes,
    reference_brier,
)
from ..predictions.scoring import COIN

# The bootstrap (predictions/bootstrap.py) is re-exported: the evaluation's figures use it.
__all__ = ["block_draws", "day_blocks", "interval", "resampled_mean"]


def outcome_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The scored rows of `frame` as outcomes (`calibration_report.outcomes`, the probability
    as `confidence`), with the first call's reference and horizon and the calls' mean score.
    Rows without the outcome's columns are each their own outcome."""
    scored = frame[frame["status"] == "scored"]
    if not set(OUTCOME_KEY) <= set(scored.columns) or scored.empty:
        return scored.assign(
            n_calls=1, confidence=scored["confidence"].astype(float).clip(lower=COIN)
        )
    carry = {"reference": "first", "horizon_sessions": "first", "score": "mean"}
    grouped = outcomes(scored, carry).drop(columns=["brier"])
    return grouped.rename(columns={"probability": "confidence"}).reset_index(drop=True)


def summarize(frame: pd.DataFrame) -> dict:
    """n outcomes (and the calls they hold), hit rate, Brier, Brier skill against the base
    rate b known at each cycle (1 − Brier / mean r(1 − r), r = max(b, 0.5), the Brier score of
    stating it: a source always wrong at a probability of 0.5 or more can never show positive
    skill), ECE, abstention rate, and 95% block-bootstrap intervals of the hit rate and the
    skill."""
    scored = outcome_rows(frame)
    abstained = int((frame["status"] == "abstained").sum())
    restated = int((frame["status"] == "restatement").sum())
    # Of the cycles the source decided, how many it abstained on: a restatement is a decision
    # (the source still makes its call), though never a new call.
    decided = len(scored) + restated + abstained
    out = {
        "n": int(len(scored)),
        # Calls said again while they stood: listed, never counted (standing_calls.py).
        "n_restatements": restated,
        "hit_rate": float("nan"),
        "hit_rate_low": float("nan"),
        "hit_rate_high": float("nan"),
        "brier": float("nan"),
        "brier_skill": float("nan"),
        "brier_skill_low": float("nan"),
        "brier_skill_high": float("nan"),
        "ece": float("nan"),
        "abstention_rate": abstained / decided if decided else float("nan"),
    }
    if scored.empty:
        return out
    hit = scored["hit"].astype(float).to_numpy()
    conf = scored["confidence"].astype(float).to_numpy()
    ref = scored["reference"].astype(float).to_numpy()
    brier = (conf - hit) ** 2
    uncertainty = reference_brier(ref)  # the base rate stated as a call's probability
    out |= {
        "hit_rate": float(hit.mean()),
        "brier": float(brier.mean()),
        "brier_skill": _skill(brier.sum(), uncertainty.sum()),
        "ece": expected_calibration_error(conf, hit),
    }
    days, block = day_blocks(scored)
    if days is not None:
        draws = block_draws(days.max() + 1, block)
        rate = resampled_mean(days, hit, draws)
        skill = 1 - per_day(days, brier, draws) / np.maximum(
            per_day(days, uncertainty, draws), 1e-12
        )
        out |= dict(zip(("hit_rate_low", "hit_rate_high"), interval(rate), strict=True))
        out |= dict(zip(("brier_skill_low", "brier_skill_high"), interval(skill), strict=True))
    return out


def brier_difference(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Mean Brier of `a`'s outcomes minus `b`'s (below 0: `a` is better), with a 95% interval
    from the same moving-block bootstrap over the days both cover (days resampled jointly, so
    calls paired by cycle stay paired)."""
    oa, ob = outcome_rows(a), outcome_rows(b)
    out = {"difference": float("nan"), "low": float("nan"), "high": float("nan")}
    if oa.empty or ob.empty:
        return out
    both = pd.concat([oa.assign(_side=0), ob.assign(_side=1)], ignore_index=True)
    days, block = day_blocks(both)
    brier = (both["confidence"].astype(float) - both["hit"].astype(float)).to_numpy() ** 2
    side = both["_side"].to_numpy()
    out["difference"] = float(brier[side == 0].mean() - brier[side == 1].mean())
    if days is None:
        return out
    draws = block_draws(days.max() + 1, block)
    means = [resampled_mean(days[side == s], brier[side == s], draws) for s in (0, 1)]
    out["low"], out["high"] = interval(means[0] - means[1])
    return out


def _skill(brier_sum: float, uncertainty_sum: float) -> float:
    return 1 - brier_sum / uncertainty_sum if uncertainty_sum > 0 else float("nan")
