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

import numpy as np
import pandas as pd

from . import calendar
from .universe import TICKERS

BAR = pd.Timedelta(minutes=5)
DAY_START = pd.Timedelta(hours=4)  # the first pre-market bar
DAY_END = pd.Timedelta(hours=20)  # the end of the last after-hours bar
EXTENDED_VOL = 0.25  # after hours and pre-market move a quarter of the day's volatility
THIN = 0.2  # share of extended-hours bars without a trade


def _bridge(normals: np.ndarray, start: np.ndarray, end: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Per row, n+1 log-prices from log(start) to log(end): a Brownian bridge of total variance
    vol^2 from n standard normal draws (`normals`, one row a session)."""
    n = normals.shape[1]
    steps = normals * vol[:, None] / np.sqrt(n)
    walk = np.concatenate([np.zeros((len(normals), 1)), np.cumsum(steps, axis=1)], axis=1)
    t = np.linspace(0.0, 1.0, n + 1)
    log_start = np.log(start)[:, None]
    return log_start + walk - t * walk[:, -1:] + t * (np.log(end)[:, None] - log_start)


def _inside(path: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row, the bridge's deviations from its chord, scaled so the path stays within
    [low, high]."""
    chord = np.linspace(path[:, 0], path[:, -1], path.shape[1], axis=1)
    dev = path - chord
    room_up = np.log(high)[:, None] - chord
    room_down = chord - np.log(low)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(dev > 0, room_up / dev, np.inf)
        down = np.where(dev < 0, room_down / -dev, np.inf)
    scale = np.minimum(np.minimum(up.min(axis=1), down.min(axis=1)), 1.0)
    return chord + np.maximum(scale, 0.0)[:, None] * dev


MINUTE_NS = 60 * 10**9
DAY_NS = 86_400 * 10**9
_MINUTES = {
    name: int(t / pd.Timedelta(minutes=1))
    for name, t in (
        ("bar", BAR),
        ("open", calendar.SESSION_OPEN),
        ("start", DAY_START),
        ("end", DAY_END),
    )
}


def _draws(seed: int, number: int, day_ns: int, prev: tuple, prev_ns: int, sizes: tuple) -> tuple:
    """One session's random numbers, from generators seeded by (seed, ticker, session): the
    overnight price the pre-market starts from, the normals (regular, pre-market, after-hours
    steps, then the wicks) and the uniforms (which thin extended-hours bars trade)."""
    prev_rng = np.random.default_rng([seed, number, prev_ns // DAY_NS])
    spread = EXTENDED_VOL * np.log(prev[1] / prev[2])
    prev_last = prev[3] * np.exp(prev_rng.standard_normal() * spread)
    rng = np.random.default_rng([seed, number, day_ns // DAY_NS, 1])
    normals, uniforms = sizes
    return prev_last, rng.standard_normal(normals), rng.random(uniforms)


def _bars(close_min: int, days_ns: np.ndarray, ohlcv: np.ndarray, draws: list[tuple]) -> list:
    """The bars of sessions that close at the same minute (`close_min` after midnight), one
    session a row: per session (start times in ns, open, high, low, close, volume)."""
    o, h, lo, c, v = (ohlcv[:, k] for k in range(5))
    vol = np.maximum(np.log(h / lo), 1e-4)
    bar_min, open_min, start_min = _MINUTES["bar"], _MINUTES["open"], _MINUTES["start"]
    n_reg, n_pre, n_post = _shape(close_min)
    n_bars = n_pre + n_reg + n_post
    prev_last = np.array([d[0] for d in draws])
    normals = np.stack([d[1] for d in draws])
    uniforms = np.stack([d[2] for d in draws])
    cut = np.cumsum([n_reg, n_pre, n_post])
    regular = np.exp(_inside(_bridge(normals[:, : cut[0]], o, c, vol), lo, h))
    regular[:, 0], regular[:, -1] = o, c  # exactly the daily open and close, not exp(log(.))
    pre = np.exp(_bridge(normals[:, cut[0] : cut[1]], prev_last, o, EXTENDED_VOL * vol))
    post_steps = normals[:, cut[1] : cut[2]] * EXTENDED_VOL * vol[:, None] / np.sqrt(n_post)
    post = c[:, None] * np.exp(
        np.concatenate([np.zeros((len(o), 1)), np.cumsum(post_steps, axis=1)], axis=1)
    )
    opens = np.concatenate([pre[:, :-1], regular[:, :-1], post[:, :-1]], axis=1)
    closes = np.concatenate([pre[:, 1:], regular[:, 1:], post[:, 1:]], axis=1)
    wick = np.abs(normals[:, cut[2] :].reshape(len(o), n_bars, 2))
    wick = wick * vol[:, None, None] / np.sqrt(n_reg) / 3
    highs = np.maximum(opens, closes) * np.exp(wick[:, :, 0])
    lows = np.minimum(opens, closes) * np.exp(-wick[:, :, 1])
    reg = slice(n_pre, n_pre + n_reg)
    # The regular session stays inside the day's range and touches its high and its low.
    highs[:, reg] = np.minimum(highs[:, reg], h[:, None])
    lows[:, reg] = np.maximum(lows[:, reg], lo[:, None])
    rows = np.arange(len(o))
    highs[rows, n_pre + np.argmax(highs[:, reg], axis=1)] = h
    lows[rows, n_pre + np.argmin(lows[:, reg], axis=1)] = lo
    shape = 1.0 + 1.5 * np.abs(np.linspace(-1.0, 1.0, n_reg)) ** 2  # busy open and close
    volume = np.concatenate(
        [
            np.repeat((0.002 * v / max(n_pre, 1))[:, None], n_pre, axis=1),
            v[:, None] * shape / shape.sum(),
            np.repeat((0.003 * v / max(n_post, 1))[:, None], n_post, axis=1),
        ],
        axis=1,
    )
    minutes = np.concatenate(
        [
            start_min + bar_min * np.arange(n_pre),
            open_min + bar_min * np.arange(n_reg),
            close_min + bar_min * np.arange(n_post),
        ]
    )
    extended = np.ones(n_bars, dtype=bool)
    extended[reg] = False
    keep = np.ones((len(o), n_bars), dtype=bool)
    keep[:, extended] = uniforms >= THIN
    keep[:, n_pre - 1] = keep[:, -1] = True  # the last pre-market and after-hours trades
    starts = days_ns[:, None] + minutes.astype(np.int64) * MINUTE_NS
    columns = (starts, opens, highs, lows, closes, np.round(volume))
    split = np.cumsum(keep.sum(axis=1))[:-1]
    kept = [np.split(col[keep], split) for col in columns]
    return [tuple(col[i] for col in kept) for i in range(len(o))]


def _shape(close_min: int) -> tuple[int, int, int]:
    """A session closing at `close_min`: its regular, pre-market and after-hours bars."""
    bar, open_min = _MINUTES["bar"], _MINUTES["open"]
    return (
        (close_min - open_min) // bar,
        (open_min - _MINUTES["start"]) // bar,
        (_MINUTES["end"] - close_min) // bar,
    )


def _sizes(close_min: int) -> tuple[int, int]:
    """How many normals and uniforms a session closing at `close_min` draws."""
    n_reg, n_pre, n_post = _shape(close_min)
    return n_reg + n_pre + n_post + 2 * (n_pre + n_reg + n_post), n_pre + n_post


_CACHE: dict[tuple, tuple] = {}
_CACHE_SIZE = 50_000


def _sessions(seed: int, number: int, wanted: list[tuple]) -> list[tuple]:
    """One ticker's bars of each wanted session (day_ns, close_min, ohlcv, prev, prev_ns), drawn
    together where they share a shape and cached (a run asks for overlapping spans, for its
    quotes and for scoring)."""
    keys = [(seed, number, *w[:2], w[2], w[3], w[4]) for w in wanted]
    missing: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        if key not in _CACHE:
            missing.setdefault(wanted[i][1], []).append(i)
    for close_min, rows in missing.items():
        sizes = _sizes(close_min)
        draws = [
            _draws(seed, number, wanted[i][0], wanted[i][3], wanted[i][4], sizes) for i in rows
        ]
        days = np.array([wanted[i][0] for i in rows], dtype=np.int64)
        ohlcv = np.array([wanted[i][2] for i in rows], dtype=float)
        if len(_CACHE) + len(rows) > _CACHE_SIZE:
            _CACHE.clear()
        for i, bars in zip(rows, _bars(close_min, days, ohlcv, draws), strict=True):
            _CACHE[keys[i]] = bars
    return [_CACHE[key] for key in keys]


def intraday_bars(daily: pd.DataFrame, seed: int, tickers, start, end) -> pd.DataFrame:
    """5-minute bars starting between start and end, for every ticker but VIX, drawn inside
    `daily` (the simulator's daily bars: ticker, session_date, open, high, low, close, volume;
    they must include the session before `start`), in ticker and time order."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError(f"intraday bars take naive New York times, not {start} .. {end}")
    sessions = calendar.sessions(start.normalize(), end.normalize())
    columns = ["ticker", "bar_start", "bar_end", "open", "high", "low", "close", "volume"]
    if len(sessions) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    closes = calendar.session_closes(sessions)
    close_min = ((closes - sessions) / pd.Timedelta(minutes=1)).astype(int)
    day_ns = sessions.asi8
    pieces: list[tuple] = []
    names: list[str] = []
    # Tickers in name order, each one's sessions in time order: the rows come out sorted.
    for ticker in sorted({t for t in tickers if t != "VIX"}):
        number = TICKERS.index(ticker)
        rows = daily[daily["ticker"] == ticker].sort_values("session_date")
        days = rows["session_date"].to_numpy("datetime64[ns]").astype(np.int64)
        at = {int(d): i for i, d in enumerate(days)}
        values = [
            tuple(v) for v in rows[["open", "high", "low", "close", "volume"]].to_numpy(float)
        ]
        wanted = []
        for day, minutes in zip(day_ns, close_min, strict=True):
            i = at.get(int(day))
            if i is None:
                continue
            p = max(i - 1, 0)
            wanted.append((int(day), int(minutes), values[i], values[p], int(days[p])))
        found = _sessions(seed, number, wanted)
        pieces += found
        names += [ticker] * len(found)
    if not pieces:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    cols = [np.concatenate([p[k] for p in pieces]) for k in range(6)]
    ticker = np.repeat(np.array(names, dtype=object), [len(p[0]) for p in pieces])
    keep = (cols[0] >= start.value) & (cols[0] <= end.value)
    bar_start = cols[0][keep]
    return pd.DataFrame(
        {
            "ticker": ticker[keep],
            "bar_start": bar_start.astype("datetime64[ns]"),
            "bar_end": (bar_start + BAR.value).astype("datetime64[ns]"),
            "open": cols[1][keep],
            "high": cols[2][keep],
            "low": cols[3][keep],
            "close": cols[4][keep],
            "volume": cols[5][keep],
        }
    )
