"""Baseline forecasters, scored by the same code on the same calls as the synthesis.

For every call the synthesis made, each baseline calls the same subject over the same horizon,
scored in the same price series (the quote of the minute or the daily closes):

- `always_up`: the subject goes up;
- `momentum`: the subject repeats the day's move as the cycle saw it (`change_1d_pct`: the last
  session's move in the evening, the session's move so far in the day; for a pair, the relative
  move);
- `base_rate`: the synthesis's own direction, stated at the base rate known at the cycle.

A baseline makes no more ideas than the rule allows anyone: its call on a subject stands until
its horizon, and calling it again meanwhile is a restatement, never scored
(predictions/standing_calls.py); always-up restates whenever the synthesis calls a subject again
before its last call there ended, whichever way the synthesis turned.

`always_up` and `momentum` state as probability their own hit rate so far (walk-forward, with
`PRIOR_N` pseudo-calls at 0.5), never under 0.5 (a call is the likelier direction), so every
baseline is as calibrated as its record allows and the comparison is about skill, not about
stated numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .momentum import momentum_directions
from .scoring import COIN, brier, score_calls
from .standing_calls import StandingCalls

PRIOR_N = 10
BASELINES = ("always_up", "momentum", "base_rate")


def walk_forward_rate(
    known_at: pd.Series, hit: pd.Series, at: pd.Series, prior_n: float = PRIOR_N
) -> np.ndarray:
    """For each time in `at`: (hits known by then + prior_n * 0.5) / (n known by then + prior_n)."""
    order = np.argsort(known_at.to_numpy(dtype="datetime64[ns]"), kind="stable")
    times = known_at.to_numpy(dtype="datetime64[ns]")[order]
    hits = np.cumsum(hit.astype(float).to_numpy()[order])
    idx = np.searchsorted(times, at.to_numpy(dtype="datetime64[ns]"), side="right")
    n = idx.astype(float)
    h = np.where(idx > 0, hits[np.maximum(idx - 1, 0)], 0.0)
    return (h + 0.5 * prior_n) / (n + prior_n)


def reference_rate(all_scores: pd.DataFrame, at: pd.Series) -> np.ndarray:
    """The base rate known at each time: hit rate of every scored call known by then."""
    scored = all_scores[all_scores["status"] == "scored"]
    return walk_forward_rate(scored["known_at"], scored["hit"], at)


def scoring_closes(
    predictions: pd.DataFrame, market: str, intraday: bool, base_dir=None
) -> pd.DataFrame:
    """The prices the baselines are scored from, as `prediction_scores` reads them: daily
    closes, and the intraday bars of the tickers called at the minute."""
    from ..market.asof import scoring_prices
    from ..market.sources import open_source
    from ..market.universe import TICKERS
    from .scoring import minute_legs

    start = predictions["cycle_ts"].min() - pd.Timedelta(days=10)
    end = predictions["horizon_end"].max()
    legs = minute_legs(predictions)
    source = open_source(market, base_dir=base_dir)
    return scoring_prices(source, TICKERS, start, end, intraday, intraday_tickers=legs)


def baseline_scores(
    synthesis_calls: pd.DataFrame,
    features: pd.DataFrame,
    closes: pd.DataFrame,
    all_scores: pd.DataFrame,
    now: pd.Timestamp,
) -> pd.DataFrame:
    """Scored baseline calls (prediction_scores columns, `source` = the baseline's name)."""
    calls = synthesis_calls[synthesis_calls["parse_status"] == "parsed"]
    calls = calls[calls["direction"].isin(["up", "down"])]
    keep = [c for c in calls.columns if c in PREDICTION_COLUMNS]
    calls = calls[keep].reset_index(drop=True)
    variants = {
        "always_up": calls.assign(direction="up"),
        "momentum": calls.assign(direction=momentum_directions(calls, features)),
        "base_rate": calls.assign(
            confidence=np.maximum(COIN, reference_rate(all_scores, calls["cycle_ts"]))
        ),
    }
    frames = []
    for name, frame in variants.items():
        frame = frame.assign(source=name, band_low_pct=None, band_high_pct=None)
        frame = pd.DataFrame(
            StandingCalls().walk(frame.to_dict("records")),
            columns=[*frame.columns, "restates", "replaces"],
        )
        scored = score_calls(frame, closes, now=now)
        if name != "base_rate":
            done = scored[scored["status"] == "scored"]
            scored["confidence"] = np.maximum(
                COIN, walk_forward_rate(done["known_at"], done["hit"], scored["cycle_ts"])
            )
        scored["brier"] = [
            brier(c, h) if s == "scored" else None
            for c, h, s in zip(scored["confidence"], scored["hit"], scored["status"], strict=True)
        ]
        frames.append(scored)
    return pd.concat(frames, ignore_index=True)


PREDICTION_COLUMNS = {
    "cycle_key",
    "cycle_ts",
    "source",
    "regime",
    "parse_status",
    "parse_error",
    "subject",
    "ticker",
    "relative_to",
    "direction",
    "timeframe",
    "timeframe_hours",
    "horizon_sessions",
    "horizon_end",
    "confidence",
    "band_low_pct",
    "band_high_pct",
    "raw_tag",
    "subject_kind",
    "timeframe_bucket",
    "price_series",
}
