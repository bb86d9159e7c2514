"""Score calls from prices with code, never with a model. The rubric is docs/scoring.md.

entry = the last close published at or before the cycle time; exit = the last close published at
or before the horizon end (the close of the call's last session, from the NYSE calendar). Pairs
("IWM vs META") score the relative return, A's return minus B's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

FLAT_BAND_PER_SESSION_PCT = 0.5  # |move| within 0.5% x sqrt(sessions) counts as flat / noise
SETTLE_GRACE = pd.Timedelta(minutes=15)  # VIX settles at 16:15, after the 16:00 horizon close
STALE_EXIT = pd.Timedelta(hours=12)  # an exit bar older than this is not the horizon's close


def flat_band(sessions: int) -> float:
    return FLAT_BAND_PER_SESSION_PCT * math.sqrt(max(1, sessions))


def score_move(
    direction: str,
    realized_pct: float,
    sessions: int,
    band: tuple[float | None, float | None] = (None, None),
) -> tuple[bool, float]:
    """(hit, score in [0, 1]) for a realized move (percent) against a call."""
    noise = flat_band(sessions)
    lo, hi = band
    in_band = lo is not None and hi is not None and lo - 1e-9 <= realized_pct <= hi + 1e-9
    if direction == "flat":
        hit = abs(realized_pct) <= noise
        if not hit:
            return False, 0.0
        return True, 1.0 if in_band else 0.8
    sign = 1.0 if direction == "up" else -1.0
    signed = sign * realized_pct
    hit = signed > 0
    if hit:
        base = 0.7 if signed > noise else 0.5
        if lo is not None:
            return True, base + 0.3 if in_band else base
        return True, base + 0.15 if signed > noise else base
    return False, 0.2 if -signed <= noise else 0.0


def brier(confidence: float, hit: bool) -> float:
    return float((confidence - (1.0 if hit else 0.0)) ** 2)


def _price_at(
    closes: pd.DataFrame, ticker: str, ts: pd.Timestamp
) -> tuple[float, pd.Timestamp] | None:
    """The last close of `ticker` published at or before `ts` (closes: ticker, bar_ts, close)."""
    rows = closes[closes["ticker"] == ticker]
    if rows.empty:
        return None
    times = rows["bar_ts"].to_numpy(dtype="datetime64[ns]")
    i = np.searchsorted(times, np.datetime64(ts), side="right") - 1
    if i < 0:
        return None
    return float(rows["close"].iloc[i]), pd.Timestamp(times[i])


SCORE_COLUMNS = [
    "entry_price",
    "exit_price",
    "entry_ts",
    "exit_ts",
    "realized_return_pct",
    "hit",
    "score",
    "brier",
    "status",
    "reason",
    "known_at",
]


def score_call(call: dict, closes: pd.DataFrame, now: pd.Timestamp) -> dict:
    """Score one parsed call (a predictions row) from a frame of published closes.

    `closes` must be sorted by ticker, bar_ts. `now` is what is knowable: a call whose horizon
    has not ended by `now` is `pending`. Returns the SCORE_COLUMNS.
    """
    out = dict.fromkeys(SCORE_COLUMNS)
    status = call.get("parse_status")
    if status == "abstained" or call.get("abstained"):
        return out | {
            "status": "abstained",
            "reason": "the source abstained",
            "known_at": call["cycle_ts"],
        }
    if status != "parsed":
        return out | {
            "status": "unscorable",
            "reason": f"parse error: {call.get('parse_error')}",
            "known_at": call["cycle_ts"],
        }
    end = pd.Timestamp(call["horizon_end"])
    if end > now:
        return out | {"status": "pending", "reason": f"horizon ends {end:%Y-%m-%d %H:%M}"}
    legs = [call["ticker"]] + ([call["relative_to"]] if call.get("relative_to") else [])
    returns, entries, exits = [], [], []
    for leg in legs:
        entry = _price_at(closes, leg, pd.Timestamp(call["cycle_ts"]))
        exit_ = _price_at(closes, leg, end + SETTLE_GRACE)
        if entry is None or exit_ is None:
            return out | {"status": "unscorable", "reason": f"no price for {leg}", "known_at": end}
        if exit_[1] < end - STALE_EXIT:
            return out | {
                "status": "unscorable",
                "reason": f"no {leg} bar at the horizon close {end:%Y-%m-%d %H:%M}",
                "known_at": end,
            }
        if exit_[1] <= entry[1]:
            return out | {
                "status": "unscorable",
                "reason": f"no {leg} bar closed between the cycle and the horizon",
                "known_at": end,
            }
        returns.append(100.0 * (exit_[0] / entry[0] - 1.0))
        entries.append(entry)
        exits.append(exit_)
    realized = returns[0] - (returns[1] if len(returns) > 1 else 0.0)
    hit, score = score_move(
        call["direction"],
        realized,
        int(call["horizon_sessions"]),
        (call.get("band_low_pct"), call.get("band_high_pct")),
    )
    conf = call.get("confidence")
    return {
        "entry_price": entries[0][0],
        "exit_price": exits[0][0],
        "entry_ts": entries[0][1],
        "exit_ts": exits[0][1],
        "realized_return_pct": round(realized, 4),
        "hit": bool(hit),
        "score": round(score, 4),
        "brier": round(brier(conf, hit), 6) if conf is not None and not pd.isna(conf) else None,
        "status": "scored",
        "reason": None,
        "known_at": max(e[1] for e in exits),
    }


def score_calls(calls: pd.DataFrame, closes: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Score every row of a predictions frame; the result keeps the call's columns."""
    closes = closes.sort_values(["ticker", "bar_ts"]).reset_index(drop=True)
    by_ticker = {t: g for t, g in closes.groupby("ticker")}
    scored = []
    for call in calls.to_dict("records"):
        legs = [call.get("ticker"), call.get("relative_to")]
        subset = (
            pd.concat([by_ticker[t] for t in legs if t in by_ticker])
            if any(t in by_ticker for t in legs)
            else closes.iloc[0:0]
        )
        scored.append(score_call(call, subset, now))
    return pd.concat(
        [calls.reset_index(drop=True), pd.DataFrame(scored, columns=SCORE_COLUMNS)], axis=1
    )
