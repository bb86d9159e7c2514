"""The simulator's intraday path: 5-minute bars from 04:00 to 20:00, drawn inside its daily bars.

Each session's regular bars (09:30 to the close) are a Brownian bridge from the daily open to the
daily close, kept inside the day's low and high and touching both, so they aggregate to exactly
the daily bar the simulator already produces: daily replays and `make evaluate` do not change.
Pre-market bars walk to the open from an overnight price near the previous close, after-hours
bars wander from the close; some thin extended-hours bars have no trade (no bar), as in the real
files. A session's bars are drawn from a generator seeded by (seed, ticker, session), so they do
not depend on which sessions were asked for, or in what order.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from . import calendar
from .universe import TICKERS

BAR = pd.Timedelta(minutes=5)
DAY_START = pd.Timedelta(hours=4)  # the first pre-market bar
DAY_END = pd.Timedelta(hours=20)  # the end of the last after-hours bar
EXTENDED_VOL = 0.25  # after hours and pre-market move a quarter of the day's volatility
THIN = 0.2  # share of extended-hours bars without a trade


def _bridge(rng, start: float, end: float, n: int, vol: float) -> np.ndarray:
    """n+1 log-prices from log(start) to log(end), a Brownian bridge of total variance vol^2."""
    steps = rng.standard_normal(n) * vol / np.sqrt(n)
    walk = np.concatenate([[0.0], np.cumsum(steps)])
    t = np.linspace(0.0, 1.0, n + 1)
    return np.log(start) + walk - t * walk[-1] + t * (np.log(end) - np.log(start))


def _inside(path: np.ndarray, low: float, high: float) -> np.ndarray:
    """The bridge's deviations from its chord, scaled so the path stays within [low, high]."""
    chord = np.linspace(path[0], path[-1], len(path))
    dev = path - chord
    room_up = np.log(high) - chord
    room_down = chord - np.log(low)
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(dev > 0, room_up / dev, np.inf)
        down = np.where(dev < 0, room_down / -dev, np.inf)
    scale = min(1.0, float(np.min(up)), float(np.min(down)))
    return chord + max(scale, 0.0) * dev


MINUTE_NS = 60 * 10**9
DAY_NS = 86_400 * 10**9


def _bars(day_ns: int, close_min: int, ohlcv: np.ndarray, prev_last: float, rng) -> tuple:
    """One ticker's bars of one session: (start times in ns, open, high, low, close, volume).
    `close_min`: the session's close in minutes after midnight."""
    o, h, lo, c, v = (float(x) for x in ohlcv)
    vol = max(np.log(h / lo), 1e-4)
    bar_min, open_min, start_min, end_min = (
        int(t / pd.Timedelta(minutes=1)) for t in (BAR, calendar.SESSION_OPEN, DAY_START, DAY_END)
    )
    n_reg = (close_min - open_min) // bar_min
    n_pre = (open_min - start_min) // bar_min
    n_post = (end_min - close_min) // bar_min
    regular = np.exp(_inside(_bridge(rng, o, c, n_reg, vol), lo, h))
    regular[0], regular[-1] = o, c  # exactly the daily open and close, not exp(log(.))
    pre = np.exp(_bridge(rng, prev_last, o, n_pre, EXTENDED_VOL * vol))
    post_steps = rng.standard_normal(n_post) * EXTENDED_VOL * vol / np.sqrt(n_post)
    post = c * np.exp(np.concatenate([[0.0], np.cumsum(post_steps)]))
    opens = np.concatenate([pre[:-1], regular[:-1], post[:-1]])
    closes = np.concatenate([pre[1:], regular[1:], post[1:]])
    wick = np.abs(rng.standard_normal((len(opens), 2))) * vol / np.sqrt(n_reg) / 3
    highs = np.maximum(opens, closes) * np.exp(wick[:, 0])
    lows = np.minimum(opens, closes) * np.exp(-wick[:, 1])
    reg = slice(n_pre, n_pre + n_reg)
    # The regular session stays inside the day's range and touches its high and its low.
    highs[reg] = np.minimum(highs[reg], h)
    lows[reg] = np.maximum(lows[reg], lo)
    highs[n_pre + int(np.argmax(highs[reg]))] = h
    lows[n_pre + int(np.argmin(lows[reg]))] = lo
    shape = 1.0 + 1.5 * np.abs(np.linspace(-1.0, 1.0, n_reg)) ** 2  # busy open and close
    volume = np.concatenate(
        [
            np.full(n_pre, 0.002 * v / max(n_pre, 1)),
            v * shape / shape.sum(),
            np.full(n_post, 0.003 * v / max(n_post, 1)),
        ]
    )
    minutes = np.concatenate(
        [
            start_min + bar_min * np.arange(n_pre),
            open_min + bar_min * np.arange(n_reg),
            close_min + bar_min * np.arange(n_post),
        ]
    )
    keep = np.ones(len(minutes), dtype=bool)
    extended = np.ones(len(minutes), dtype=bool)
    extended[reg] = False
    keep[extended] = rng.random(int(extended.sum())) >= THIN
    keep[n_pre - 1] = keep[-1] = True  # the last pre-market and after-hours trades
    starts = day_ns + minutes[keep].astype(np.int64) * MINUTE_NS
    return starts, opens[keep], highs[keep], lows[keep], closes[keep], np.round(volume[keep])


@lru_cache(maxsize=50_000)
def _session_bars(
    seed: int, number: int, day_ns: int, close_min: int, ohlcv: tuple, prev: tuple, prev_ns: int
) -> tuple:
    """One ticker's bars of one session (cached: a run asks for overlapping spans, for its
    quotes and for scoring)."""
    # The overnight price the pre-market starts from, drawn with its own generator.
    prev_rng = np.random.default_rng([seed, number, prev_ns // DAY_NS])
    spread = EXTENDED_VOL * np.log(prev[1] / prev[2])
    prev_last = prev[3] * np.exp(prev_rng.standard_normal() * spread)
    rng = np.random.default_rng([seed, number, day_ns // DAY_NS, 1])
    return _bars(day_ns, close_min, np.asarray(ohlcv), prev_last, rng)


def intraday_bars(daily: pd.DataFrame, seed: int, tickers, start, end) -> pd.DataFrame:
    """5-minute bars starting between start and end, for every ticker but VIX, drawn inside
    `daily` (the simulator's daily bars: ticker, session_date, open, high, low, close, volume;
    they must include the session before `start`)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    sessions = calendar.sessions(start.normalize(), end.normalize())
    columns = ["ticker", "bar_start", "bar_end", "open", "high", "low", "close", "volume"]
    if len(sessions) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    closes = calendar.session_closes(sessions)
    close_min = ((closes - sessions) / pd.Timedelta(minutes=1)).astype(int)
    day_ns = sessions.asi8
    pieces: list[tuple] = []
    names: list[np.ndarray] = []
    for ticker in (t for t in tickers if t != "VIX"):
        number = TICKERS.index(ticker)
        rows = daily[daily["ticker"] == ticker].sort_values("session_date")
        days = rows["session_date"].to_numpy("datetime64[ns]").astype(np.int64)
        at = {int(d): i for i, d in enumerate(days)}
        values = [
            tuple(v) for v in rows[["open", "high", "low", "close", "volume"]].to_numpy(float)
        ]
        for day, minutes in zip(day_ns, close_min, strict=True):
            i = at.get(int(day))
            if i is None:
                continue
            p = max(i - 1, 0)
            bars = _session_bars(
                seed, number, int(day), int(minutes), values[i], values[p], int(days[p])
            )
            pieces.append(bars)
            names.append(np.full(len(bars[0]), ticker, dtype=object))
    if not pieces:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    cols = [np.concatenate([p[k] for p in pieces]) for k in range(6)]
    out = pd.DataFrame(
        {
            "ticker": np.concatenate(names),
            "bar_start": cols[0].astype("datetime64[ns]"),
            "open": cols[1],
            "high": cols[2],
            "low": cols[3],
            "close": cols[4],
            "volume": cols[5],
        }
    )
    out["bar_end"] = out["bar_start"] + BAR
    out = out[(out["bar_start"] >= start) & (out["bar_start"] <= end)]
    return out[columns].sort_values(["ticker", "bar_start"], kind="stable").reset_index(drop=True)
