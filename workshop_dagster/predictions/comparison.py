"""Two variants on identical cycles: is A better than B, by more than chance? (`make compare` on
two walks, evaluation/compare.py; `variant_comparison` on the variants run side by side.)

Paired by cycle on the synthesis's calls: over the cycles where both made a scored call, and
over every cycle both decided (an abstention counted as a coin: probability 0.5, so Brier 0.25
and log score ln 0.5, half a hit, and the rubric's mean of a right and a wrong call, 0.425).
For each measure (Brier, log score, hit rate, mean score): A's mean, B's, the difference A − B
with a 95% moving-block bootstrap interval over days (blocks as long as the longest horizon),
and a Diebold-Mariano test on the daily differences with a Newey-West variance of the same lag.
A difference of a variant with itself is exactly 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .bootstrap import block_draws, day_blocks, interval, resampled_mean

CLIP = 0.01  # log score: probabilities kept in [0.01, 0.99]
# An abstention counted as a coin flip's expectation: Brier 0.25, log score ln 0.5, half a hit,
# and the mean of the rubric's score for a right and a wrong call beyond the noise.
ABSTENTION = {"probability": 0.5, "hit": 0.5, "score": 0.425}
# Lower is better for Brier; higher for the others.
MEASURES = {"brier": "lower", "log_score": "higher", "hit_rate": "higher", "mean_score": "higher"}


@dataclass(frozen=True)
class Row:
    scope: str  # "calls both made" | "all cycles"
    measure: str
    n_cycles: int
    a: float
    b: float
    difference: float
    low: float
    high: float
    dm: float
    p_value: float

    def verdict(self, a_name: str, b_name: str) -> str:
        if self.n_cycles == 0 or math.isnan(self.low):
            return "too few cycles"
        better_low = MEASURES[self.measure] == "lower"
        if self.low > 0 or self.high < 0:
            a_wins = (self.high < 0) if better_low else (self.low > 0)
            return f"{a_name if a_wins else b_name} better"
        return "no difference beyond chance"


def _losses(rows: pd.DataFrame) -> pd.DataFrame:
    """Per synthesis row: probability, hit (abstentions as a coin) and each measure."""
    abstained = rows["status"] == "abstained"
    p = np.where(abstained, ABSTENTION["probability"], rows["confidence"].astype(float))
    hit = np.where(abstained, ABSTENTION["hit"], rows["hit"].astype(float))
    score = np.where(abstained, ABSTENTION["score"], rows["score"].astype(float))
    clipped = np.clip(p, CLIP, 1 - CLIP)
    return pd.DataFrame(
        {
            "cycle_key": rows["cycle_key"].to_numpy(),
            "cycle_ts": pd.to_datetime(rows["cycle_ts"]).to_numpy(),
            "scored": ~abstained.to_numpy(),
            "horizon_sessions": pd.to_numeric(rows.get("horizon_sessions"), errors="coerce"),
            # A coin's expected Brier score, 0.25, for an abstention ((0.5 - 0.5)² would be 0).
            "brier": np.where(abstained, 0.25, (p - hit) ** 2),
            "log_score": hit * np.log(clipped) + (1 - hit) * np.log(1 - clipped),
            "hit_rate": hit,
            "mean_score": score,
        }
    )


def paired(a_scores: pd.DataFrame, b_scores: pd.DataFrame) -> pd.DataFrame:
    """The synthesis's decided cycles both variants have, side by side (suffixes _a, _b)."""

    def decided(scores: pd.DataFrame) -> pd.DataFrame:
        rows = scores[
            (scores["source"] == "synthesis") & scores["status"].isin(["scored", "abstained"])
        ]
        return _losses(rows.reset_index(drop=True))

    both = decided(a_scores).merge(
        decided(b_scores), on=["cycle_key", "cycle_ts"], suffixes=("_a", "_b")
    )
    return both.sort_values("cycle_ts").reset_index(drop=True)


def compare(a_scores: pd.DataFrame, b_scores: pd.DataFrame) -> list[Row]:
    """Every measure, over the calls both made and over all cycles both decided."""
    both = paired(a_scores, b_scores)
    rows = []
    scopes = {
        "calls both made": both[both["scored_a"] & both["scored_b"]],
        "all cycles": both,
    }
    for scope, frame in scopes.items():
        for measure in MEASURES:
            rows.append(_row(scope, measure, frame))
    return rows


def _row(scope: str, measure: str, frame: pd.DataFrame) -> Row:
    n = len(frame)
    nan = float("nan")
    if n == 0:
        return Row(scope, measure, 0, nan, nan, nan, nan, nan, nan, nan)
    a = frame[f"{measure}_a"].to_numpy(dtype=float)
    b = frame[f"{measure}_b"].to_numpy(dtype=float)
    d = a - b
    longest = frame[["horizon_sessions_a", "horizon_sessions_b"]].max(axis=1)
    days, block = day_blocks(frame.assign(horizon_sessions=longest))
    low = high = dm = p = nan
    if days is not None:
        low, high = interval(resampled_mean(days, d, block_draws(days.max() + 1, block)))
        daily = np.bincount(days, weights=d) / np.bincount(days)
        dm, p = diebold_mariano(daily, block - 1)
    return Row(
        scope, measure, n, float(a.mean()), float(b.mean()), float(d.mean()), low, high, dm, p
    )


def cumulative(a_scores: pd.DataFrame, b_scores: pd.DataFrame) -> pd.DataFrame:
    """Over every cycle both decided, in time order: the running sum of A's Brier minus B's
    (below 0: A ahead) and of A's score minus B's (above 0: A ahead)."""
    both = paired(a_scores, b_scores)
    return pd.DataFrame(
        {
            "cycle_ts": both["cycle_ts"],
            "brier": (both["brier_a"] - both["brier_b"]).cumsum(),
            "score": (both["mean_score_a"] - both["mean_score_b"]).cumsum(),
        }
    )


def as_json(a_name: str, b_name: str, walk: str, rows: list[Row], running: pd.DataFrame) -> dict:
    """The comparison as the site's Variants page reads it (comparisons/<a>-vs-<b>-<walk>.json):
    the table, and the cumulative differences at most 400 points long."""
    from dataclasses import asdict

    step = max(1, len(running) // 400)
    points = running.iloc[::step]
    return {
        "a": a_name,
        "b": b_name,
        "walk": walk,
        "rows": [
            {
                k: (None if isinstance(v, float) and math.isnan(v) else v)
                for k, v in asdict(r).items()
            }
            | {"verdict": r.verdict(a_name, b_name)}
            for r in rows
        ],
        "cumulative": {
            "cycle_ts": [f"{t:%Y-%m-%d %H:%M}" for t in pd.to_datetime(points["cycle_ts"])],
            "brier": [round(float(v), 6) for v in points["brier"]],
            "score": [round(float(v), 6) for v in points["score"]],
        },
    }


def diebold_mariano(differences: np.ndarray, lag: int) -> tuple[float, float]:
    """(statistic, two-sided p-value) of the mean of a loss-difference series being 0, with a
    Newey-West (Bartlett) long-run variance of `lag` lags; (0, 1) for a series that is all 0."""
    d = np.asarray(differences, dtype=float)
    t = len(d)
    centred = d - d.mean()
    variance = float(centred @ centred) / t
    for k in range(1, min(lag, t - 1) + 1):
        gamma = float(centred[k:] @ centred[:-k]) / t
        variance += 2 * (1 - k / (lag + 1)) * gamma
    if variance <= 0:
        return (0.0, 1.0) if d.mean() == 0 else (math.copysign(math.inf, d.mean()), 0.0)
    stat = d.mean() / math.sqrt(variance / t)
    return float(stat), float(math.erfc(abs(stat) / math.sqrt(2)))


def table(rows: list[Row], a_name: str, b_name: str) -> str:
    """The comparison as a Markdown table, a verdict per row."""
    lines = [
        f"| scope | measure | cycles | {a_name} | {b_name} | difference [95%] | DM (p) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        interval = (
            "—" if math.isnan(r.low) else f"{r.difference:+.4f} [{r.low:+.4f}, {r.high:+.4f}]"
        )
        dm = "—" if math.isnan(r.dm) else f"{r.dm:+.2f} ({r.p_value:.3f})"
        a = "—" if math.isnan(r.a) else f"{r.a:.4f}"
        b = "—" if math.isnan(r.b) else f"{r.b:.4f}"
        lines.append(
            f"| {r.scope} | {r.measure} | {r.n_cycles} | {a} | {b} | {interval} | {dm} | "
            f"{r.verdict(a_name, b_name)} |"
        )
    return "\n".join(lines)
