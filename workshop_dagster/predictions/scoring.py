"""Score calls from prices with code, never with a model. The rubric is docs/scoring.md.

entry = the last close published at or before the cycle time; exit = the last close published at
or before the horizon end (the close of the call's last session, from the NYSE calendar). Pairs
("IWM vs META") score the relative return, A's return minus B's.

A call whose cycle saw a quote of its minute (`price_series` "intraday") is scored inside the
intraday series: entry the last bar ended by the cycle (the price the cycle saw), exit the last
bar ended by the horizon end. When that series cannot close it (its history ends, a gap), the
call is unscorable: no return crosses the two series, and the daily closes, which every cycle
of a session shares, would count one outcome once per cycle. `scored_on` says which scored it.

(Over 350 lines: `score_call`, the rubric one call at a time, is kept beside the vectorized
`score_calls` on purpose; the tests hold the two to identical results.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

FLAT_BAND_PER_SESSION_PCT = 0.5  # |move| within 0.5% x sqrt(sessions) counts as flat / noise
SETTLE_GRACE = pd.Timedelta(minutes=15)  # VIX settles at 16:15, after the 16:00 horizon close
STALE_EXIT = pd.Timedelta(hours=12)  # an exit bar older than this is not the horizon's close
# An intraday exit bar must have ended within this of the horizon (minutes without trades have
# no bar; a longer gap is no price at the horizon).
INTRADAY_STALE_EXIT = pd.Timedelta(minutes=30)


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
    # A band missing from a frame arrives as NaN, not None: no band either way.
    lo, hi = (None if v is None or pd.isna(v) else float(v) for v in band)
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


# A call is a claim that its direction is the likelier one: the probability it is scored at is
# never under a coin flip (docs/scoring.md, "What CONFIDENCE means").
COIN = 0.5


def brier(confidence: float, hit: bool) -> float:
    """(probability − hit)² on the call's probability, never under 0.5: a number recorded under
    it (a mind's stated number, before session 12) is scored at 0.5, not as the opposite call."""
    return float((max(confidence, COIN) - (1.0 if hit else 0.0)) ** 2)


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
    "scored_on",
]


def score_call(call: dict, closes: pd.DataFrame, now: pd.Timestamp) -> dict:
    """Score one parsed call (a predictions row) from a frame of published daily closes (the
    reference rubric; `score_calls` adds the intraday series).

    `closes` must be sorted by ticker, bar_ts. `now` is what is knowable: a call whose horizon
    has not ended by `now` is `pending`, and no price published after it is used. Returns the
    SCORE_COLUMNS.
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
    if _restates(call.get("restates")):
        return out | {
            "status": "restatement",
            "reason": f"restates the call of cycle {call['restates']}",
            "known_at": call["cycle_ts"],
        }
    end = pd.Timestamp(call["horizon_end"])
    if end > now:
        return out | {"status": "pending", "reason": f"horizon ends {end:%Y-%m-%d %H:%M}"}
    legs = [call["ticker"]] + ([call["relative_to"]] if call.get("relative_to") else [])
    returns, entries, exits = [], [], []
    now = pd.Timestamp(now)  # nothing published after it is used
    for leg in legs:
        entry = _price_at(closes, leg, min(pd.Timestamp(call["cycle_ts"]), now))
        exit_ = _price_at(closes, leg, min(end + SETTLE_GRACE, now))
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
        "scored_on": "daily",
    }


def minute_legs(calls: pd.DataFrame) -> list[str]:
    """The tickers of the calls made at the minute (`price_series` "intraday"), both legs of a
    pair: the intraday bars their scoring needs."""
    if "price_series" not in calls or calls.empty:
        return []
    minute = calls[calls["price_series"] == "intraday"]
    return sorted(set(minute["ticker"].dropna()) | set(minute["relative_to"].dropna()))


@dataclass(frozen=True)
class PriceBook:
    """A prices frame indexed once (per series and ticker: sorted publication times, closes),
    for scoring many times as of moving times (`score_calls(..., book=)`)."""

    daily: dict[str, tuple[np.ndarray, np.ndarray]]
    intraday: dict[str, tuple[np.ndarray, np.ndarray]]

    @classmethod
    def of(cls, closes: pd.DataFrame) -> PriceBook:
        daily, intraday = _series(closes)
        return cls(_price_index(daily), _price_index(intraday))


def score_calls(
    calls: pd.DataFrame,
    closes: pd.DataFrame | None,
    now: pd.Timestamp,
    book: PriceBook | None = None,
) -> pd.DataFrame:
    """Score every row of a predictions frame; the result keeps the call's columns.

    Only the prices published by `now` are used, from `closes` or from `book` (prices indexed
    once, for scoring many times as of moving times). Vectorized (one binary search per leg and ticker,
    numpy for the rubric); `score_call` is the same rubric one call at a time, and the tests
    hold the two to identical results.
    """
    calls = calls.reset_index(drop=True)
    n = len(calls)
    if n == 0:
        return pd.concat([calls, pd.DataFrame(columns=SCORE_COLUMNS)], axis=1)
    status = calls["parse_status"].astype(object).to_numpy()
    abstained_flag = (
        calls["abstained"].fillna(False).astype(bool).to_numpy()
        if "abstained" in calls
        else np.zeros(n, dtype=bool)
    )
    cycle_ts = pd.to_datetime(calls["cycle_ts"]).to_numpy(dtype="datetime64[ns]")
    end = pd.to_datetime(calls["horizon_end"]).to_numpy(dtype="datetime64[ns]")
    abstained = (status == "abstained") | abstained_flag
    unparsed = ~abstained & (status != "parsed")
    restates = calls["restates"].to_numpy(dtype=object) if "restates" in calls else np.full(n, None)
    # A restatement of a standing call is never scored (predictions/standing_calls.py).
    restated = ~abstained & ~unparsed & np.array([_restates(r) for r in restates], dtype=bool)
    parsed = ~abstained & ~unparsed & ~restated
    pending = parsed & (end > np.datetime64(pd.Timestamp(now)))
    due = parsed & ~pending

    reason = np.full(n, None, dtype=object)
    known = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    final = np.full(n, None, dtype=object)
    final[abstained] = "abstained"
    reason[abstained] = "the source abstained"
    known[abstained] = cycle_ts[abstained]
    final[unparsed] = "unscorable"
    errors = calls["parse_error"].to_numpy() if "parse_error" in calls else np.full(n, None)
    reason[unparsed] = [f"parse error: {e}" for e in errors[unparsed]]
    known[unparsed] = cycle_ts[unparsed]
    final[restated] = "restatement"
    reason[restated] = [f"restates the call of cycle {r}" for r in restates[restated]]
    known[restated] = cycle_ts[restated]
    final[pending] = "pending"
    reason[pending] = [f"horizon ends {pd.Timestamp(e):%Y-%m-%d %H:%M}" for e in end[pending]]

    legs = [calls["ticker"].to_numpy(dtype=object)]
    rel = calls["relative_to"].to_numpy(dtype=object) if "relative_to" in calls else None
    if rel is not None:
        legs.append(rel)
    book = book or PriceBook.of(closes)
    cutoff = np.datetime64(pd.Timestamp(now), "ns")
    wants = due & (
        calls["price_series"].to_numpy(dtype=object) == "intraday"
        if "price_series" in calls
        else np.zeros(n, dtype=bool)
    )
    prices = leg_prices(book, legs, cycle_ts, end, due, wants, cutoff)
    series = np.where(due, "daily", None).astype(object)
    series[wants] = "intraday"
    entry_px, exit_px, entry_t, exit_t, failed, why = prices
    failed = failed | ~due
    bad = due & failed
    final[bad] = "unscorable"
    reason[bad] = why[bad]
    known[bad] = end[bad]

    ok = due & ~failed
    returns = [100.0 * (x / e - 1.0) for e, x in zip(entry_px, exit_px, strict=True)]
    realized = returns[0] - (np.nan_to_num(returns[1]) if len(returns) > 1 else 0.0)
    hit, score = _score_moves(
        calls["direction"].to_numpy(dtype=object),
        realized,
        calls["horizon_sessions"].to_numpy(dtype=float),
        _floats(calls, "band_low_pct"),
        _floats(calls, "band_high_pct"),
    )
    conf = _floats(calls, "confidence")
    brier_values = (np.maximum(conf, COIN) - hit.astype(float)) ** 2
    exit_known = exit_t[0]
    if len(exit_t) > 1:
        exit_known = np.where(np.isnat(exit_t[1]), exit_t[0], np.maximum(exit_t[0], exit_t[1]))
    known[ok] = exit_known[ok]
    final[ok] = "scored"

    nat = np.datetime64("NaT")
    has_conf = ok & ~np.isnan(conf)
    out = pd.DataFrame(
        {
            "entry_price": np.where(ok, entry_px[0], np.nan),
            "exit_price": np.where(ok, exit_px[0], np.nan),
            "entry_ts": np.where(ok, entry_t[0], nat).astype("datetime64[ns]"),
            "exit_ts": np.where(ok, exit_t[0], nat).astype("datetime64[ns]"),
            "realized_return_pct": np.where(ok, np.round(realized, 4), np.nan),
            "hit": pd.arrays.BooleanArray(hit, ~ok),  # unknown unless scored
            "score": np.where(ok, np.round(score, 4), np.nan),
            "brier": np.where(has_conf, np.round(brier_values, 6), np.nan),
            "status": final,
            "reason": reason,
            "known_at": known,
            "scored_on": np.where(ok, series, None),
        }
    )
    return pd.concat([calls, out], axis=1)


def _restates(value) -> bool:
    """Whether a predictions row's `restates` names a standing call."""
    return isinstance(value, str) and bool(value)


def _floats(calls: pd.DataFrame, col: str) -> np.ndarray:
    if col not in calls:
        return np.full(len(calls), np.nan)
    return pd.to_numeric(calls[col], errors="coerce").to_numpy(dtype=float)


def _series(closes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily closes, intraday closes) of a prices frame; without a `series` column, daily."""
    if "series" not in closes:
        return closes, closes.iloc[0:0]
    intraday = (closes["series"] == "intraday").to_numpy()
    return closes[~intraday], closes[intraday]


def leg_prices(book: PriceBook, legs, cycle_ts, end, rows, minute, cutoff) -> list:
    """[entry prices, exit prices, entry times, exit times] per leg, a failed mask and its
    reasons, for the `rows` (numpy arrays over calls; `legs`: the tickers, the pairs' second leg
    None elsewhere), each row in its own series, from the prices published by `cutoff`: the
    daily closes (exit: the close by the horizon's end plus SETTLE_GRACE, within STALE_EXIT of
    it), or where `minute` (the cycle saw a quote of its minute) the intraday bars (exit: the
    last bar ended by the horizon, within INTRADAY_STALE_EXIT of it). A call that series cannot
    close fails: never across the two series, and not from the daily closes either, which every
    cycle of a session shares (the same outcome counted once per cycle). The scoring and the
    paper portfolios (portfolio/paper_book.py) price calls with it."""
    prices = _leg_prices(book.daily, legs, cycle_ts, end, rows, SETTLE_GRACE, STALE_EXIT, cutoff)
    wants = rows & minute
    if wants.any():
        intraday = _leg_prices(
            book.intraday, legs, cycle_ts, end, wants, pd.Timedelta(0), INTRADAY_STALE_EXIT, cutoff
        )
        for k in range(4):
            prices[k] = [np.where(wants, m, d) for m, d in zip(intraday[k], prices[k], strict=True)]
        prices[4] = np.where(wants, intraday[4], prices[4])
        lost = wants & intraday[4]
        prices[5] = prices[5].copy()
        prices[5][lost] = [f"{why} in the intraday series" for why in intraday[5][lost]]
    return prices


def _leg_prices(index, legs, cycle_ts, end, rows, grace, stale_after, cutoff) -> list:
    """[entry prices, exit prices, entry times, exit times] per leg, a failed mask and its
    reasons, for the `rows` to score from one series, from the prices published by `cutoff`
    (each lookup time capped at it)."""
    exit_at = np.minimum(end + np.timedelta64(grace), cutoff)
    entry_at = np.minimum(cycle_ts, cutoff)
    n = len(cycle_ts)
    entry_px, exit_px, entry_t, exit_t = [], [], [], []
    failed = np.zeros(n, dtype=bool)
    reason = np.full(n, None, dtype=object)
    for leg_no, leg in enumerate(legs):
        # Every due call has its first leg; a pair also has a second.
        has_leg = (
            rows if leg_no == 0 else rows & np.array([isinstance(t, str) and t != "" for t in leg])
        )
        e_px, e_t = lookup_prices(index, leg, entry_at, has_leg)
        x_px, x_t = lookup_prices(index, leg, exit_at, has_leg)
        missing = has_leg & (np.isnan(e_px) | np.isnan(x_px))
        stale = has_leg & ~missing & (x_t < end - np.timedelta64(stale_after))
        no_move = has_leg & ~missing & ~stale & (x_t <= e_t)
        for mask, text in (
            (missing, "no price for {leg}"),
            (stale, "no {leg} bar at the horizon close {end}"),
            (no_move, "no {leg} bar closed between the cycle and the horizon"),
        ):
            mask = mask & ~failed
            if mask.any():
                reason[mask] = [
                    text.format(leg=t, end=f"{pd.Timestamp(e):%Y-%m-%d %H:%M}")
                    for t, e in zip(leg[mask], end[mask], strict=True)
                ]
                failed = failed | mask
        entry_px.append(np.where(has_leg, e_px, np.nan))
        exit_px.append(np.where(has_leg, x_px, np.nan))
        entry_t.append(np.where(has_leg, e_t, np.datetime64("NaT")))
        exit_t.append(np.where(has_leg, x_t, np.datetime64("NaT")))
    return [entry_px, exit_px, entry_t, exit_t, failed, reason]


def _price_index(closes: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per ticker: publication times (sorted) and closes."""
    closes = closes.sort_values(["ticker", "bar_ts"], kind="stable")
    return {
        t: (g["bar_ts"].to_numpy(dtype="datetime64[ns]"), g["close"].to_numpy(dtype=float))
        for t, g in closes.groupby("ticker", sort=False)
    }


def lookup_prices(index, tickers: np.ndarray, at: np.ndarray, mask: np.ndarray):
    """The last close (and its time) of each row's ticker published at or before `at`."""
    px = np.full(len(at), np.nan)
    ts = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[ns]")
    for ticker in set(tickers[mask]):
        rows = np.flatnonzero(mask & (tickers == ticker))
        if ticker not in index:
            continue
        times, values = index[ticker]
        i = np.searchsorted(times, at[rows], side="right") - 1
        found = i >= 0
        px[rows[found]] = values[i[found]]
        ts[rows[found]] = times[i[found]]
    return px, ts


def _score_moves(direction, realized, sessions, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """`score_move` for arrays (same rubric, same numbers)."""
    noise = FLAT_BAND_PER_SESSION_PCT * np.sqrt(np.maximum(1, np.nan_to_num(sessions, nan=1)))
    has_band = ~np.isnan(lo) & ~np.isnan(hi)
    in_band = has_band & (lo - 1e-9 <= realized) & (realized <= hi + 1e-9)
    flat = direction == "flat"
    sign = np.where(direction == "down", -1.0, 1.0)
    signed = sign * realized
    hit = np.where(flat, np.abs(realized) <= noise, signed > 0)
    base = np.where(signed > noise, 0.7, 0.5)
    with_lo = ~np.isnan(lo)
    directional_hit = np.where(
        with_lo, np.where(in_band, base + 0.3, base), np.where(signed > noise, base + 0.15, base)
    )
    directional_miss = np.where(-signed <= noise, 0.2, 0.0)
    flat_score = np.where(hit, np.where(in_band, 1.0, 0.8), 0.0)
    score = np.where(flat, flat_score, np.where(hit, directional_hit, directional_miss))
    return hit.astype(bool), score
