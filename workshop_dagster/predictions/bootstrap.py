"""A moving-block bootstrap over trading days: calls whose horizons overlap are correlated, so an
interval resamples whole blocks of consecutive days, as long as the longest horizon (seeded: the
figures reproduce). Used by the evaluation's figures and by the comparison of two variants."""

from __future__ import annotations

import numpy as np
import pandas as pd

BOOTSTRAP_REPS = 1000
BOOTSTRAP_SEED = 20260101
MAX_BLOCK_DAYS = 21


def day_blocks(outcomes: pd.DataFrame) -> tuple[np.ndarray | None, int]:
    """Each outcome's day index (0 = the first day; None under two days) and the block length
    in days: as long as the longest horizon in sessions, at least one day, at most
    `MAX_BLOCK_DAYS` (`block_draws` shortens it to the days there are)."""
    if "cycle_ts" not in outcomes:
        return None, 1
    day = pd.to_datetime(outcomes["cycle_ts"]).dt.normalize()
    uniq = np.sort(day.unique())
    if len(uniq) < 2:
        return None, 1
    index = np.searchsorted(uniq, day.to_numpy())
    return index, horizon_block(outcomes)


def horizon_block(calls: pd.DataFrame) -> int:
    """The block length in days: the longest horizon in sessions of `calls`, at least one day,
    at most `MAX_BLOCK_DAYS` (one when no horizon is known)."""
    longest = (
        pd.to_numeric(calls["horizon_sessions"], errors="coerce").max()
        if "horizon_sessions" in calls
        else np.nan
    )
    return int(min(MAX_BLOCK_DAYS, max(1, 1 if pd.isna(longest) else longest)))


def block_draws(n_days: int, block: int) -> np.ndarray:
    """(reps × n_days) how often each day is drawn: ceil(n_days / block) blocks of `block`
    consecutive days (at most n_days), starts uniform, the series cut to n_days (seeded:
    figures reproduce)."""
    block = min(block, n_days)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    n_blocks = -(-n_days // block)
    starts = rng.integers(0, n_days - block + 1, size=(BOOTSTRAP_REPS, n_blocks))
    picked = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(BOOTSTRAP_REPS, -1)
    picked = picked[:, :n_days]
    counts = np.zeros((BOOTSTRAP_REPS, n_days))
    np.add.at(counts, (np.arange(BOOTSTRAP_REPS)[:, None], picked), 1)
    return counts


def per_day(days: np.ndarray, values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Σ over the drawn days of `values` (per replicate)."""
    sums = np.bincount(days, weights=values, minlength=draws.shape[1])
    return draws @ sums


def resampled_mean(days: np.ndarray, values: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """The mean of `values` over the drawn days, per replicate."""
    return per_day(days, values, draws) / np.maximum(per_day(days, np.ones(len(values)), draws), 1)


def interval(samples: np.ndarray) -> tuple[float, float]:
    """The 95% interval of a bootstrap's finite samples."""
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi)
