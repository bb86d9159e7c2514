"""Charts for the scoreboard, rendered to PNG with matplotlib at build time."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..mind_registry import colour


def wilson(hits: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a hit rate."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def reliability_diagram(calibration: pd.DataFrame, path: Path) -> Path:
    """Stated confidence vs realized hit rate per bin and source, with 95% intervals."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=100)
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", lw=1, label="perfectly calibrated")
    if "direction" in calibration.columns:
        calibration = calibration[calibration["direction"] == "all"]
    for source, rows in calibration.groupby("source"):
        rows = rows.sort_values("mean_confidence")
        lo, hi = zip(*(wilson(r.hit_rate * r.n, int(r.n)) for r in rows.itertuples()), strict=True)
        # Arrays, not Series: matplotlib calls float() on a one-row Series (a FutureWarning).
        yerr = [
            (rows["hit_rate"] - list(lo)).clip(lower=0).to_numpy(dtype=float),
            (list(hi) - rows["hit_rate"]).clip(lower=0).to_numpy(dtype=float),
        ]
        ax.errorbar(
            rows["mean_confidence"].to_numpy(dtype=float),
            rows["hit_rate"].to_numpy(dtype=float),
            yerr=yerr,
            marker="o",
            capsize=3,
            color=colour(source),
            label=source,
            lw=1,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("stated confidence (bin mean)")
    ax.set_ylabel("realized hit rate (95% Wilson interval)")
    ax.set_title("Reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def rolling_scores(scores: pd.DataFrame, path: Path, window: int = 20) -> Path:
    """Each source's mean score over its last `window` scored calls, by the time they were known."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for source, rows in scores.sort_values("known_at").groupby("source"):
        rolling = rows["score"].rolling(window, min_periods=min(5, window)).mean()
        ax.plot(rows["known_at"], rolling, label=source, color=colour(source), lw=1.4)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"mean score, last {window} calls")
    ax.set_title("Rolling score per mind")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
