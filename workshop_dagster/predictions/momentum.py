"""The momentum baseline's direction: a call's subject repeats the move its cycle saw.

Beside always-up, the simplest rule a forecaster must beat (predictions/baselines.py scores it;
portfolio/every_source.py trades it at the synthesis's sizing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def momentum_directions(calls: pd.DataFrame, features: pd.DataFrame) -> pd.Series:
    """Each call's subject repeating the move the cycle saw (`change_1d_pct`; a pair's relative move)."""
    change = features.set_index(["cycle_ts", "ticker"])["change_1d_pct"]

    def lookup(ts, ticker) -> float:
        return float(change.get((ts, ticker), np.nan)) if ticker else 0.0

    moves = [
        lookup(r.cycle_ts, r.ticker) - (lookup(r.cycle_ts, r.relative_to) if r.relative_to else 0.0)
        for r in calls.itertuples()
    ]
    return pd.Series(np.where(np.array(moves) >= 0, "up", "down"), index=calls.index)
