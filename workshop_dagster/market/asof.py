"""The as-of rule, one for every source: a cycle sees only what was published before it.

- A daily bar is published at its session's close (16:00 New York, 13:00 on early-close days;
  VIX settles 15 minutes later, at 16:15).
- A Treasury yield (DGS10, DGS2 and their spread T10Y2Y) for date D is published at 18:00 on D,
  when the Treasury posts the day's par yield curve.
- The effective fed funds rate (DFF) for date D is published by the New York Fed at 09:00 on the
  next trading day.

`market_snapshot` applies the rule to raw histories from any source and returns, per cycle, the
last bars and observations that were public at the cycle time, so no source can leak a later
value into an earlier cycle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import calendar
from .daily_view import DailyView, window_rows
from .errors import MarketDataError
from .quality import gated
from .universe import RATE_SERIES, TICKERS

BAR_LOOKBACK_SESSIONS = 30
RATE_LOOKBACK_OBS = 10
STALE_AFTER_SESSIONS = 3
LOOKBACK_DAYS = BAR_LOOKBACK_SESSIONS * 2 + 10  # calendar days that hold 30 sessions
VIX_SETTLE_DELAY = pd.Timedelta(minutes=15)
TREASURY_PUBLISH_TIME = pd.Timedelta(hours=18)
FED_FUNDS_PUBLISH_TIME = pd.Timedelta(hours=9)
TREASURY_CODES = ("DGS10", "DGS2", "T10Y2Y")


def publish_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Add `bar_ts`: the moment each daily bar became public."""
    out = bars.copy()
    out["bar_ts"] = calendar.session_closes(out["session_date"])
    out.loc[out["ticker"] == "VIX", "bar_ts"] += VIX_SETTLE_DELAY
    return out


def publish_rates(rates: pd.DataFrame) -> pd.DataFrame:
    """Add `as_of` (publication time) and the table's series name to FRED observations."""
    out = rates.copy()
    obs = pd.DatetimeIndex(out["obs_date"]).normalize()
    as_of = pd.Series(obs + TREASURY_PUBLISH_TIME, index=out.index)
    dff = (out["code"] == "DFF").to_numpy()
    if dff.any():
        as_of[dff] = calendar.next_session_open_day(obs[dff]) + FED_FUNDS_PUBLISH_TIME
    out["as_of"] = as_of.astype("datetime64[ns]")
    out["series"] = out["code"].map(RATE_SERIES)
    return out


def _window_bounds(
    frame: pd.DataFrame, time_col: str, key_col: str, cycles: pd.DatetimeIndex, lookback: int
) -> tuple[pd.DataFrame, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """The as-of rule's windows: `frame` sorted by key and time, and per key that some cycle
    sees (in key order): which cycles see it (a mask over `cycles`) and, for those, the rows of
    the sorted frame each sees, `starts` to `stops` (its last `lookback` rows at or before it).
    One searchsorted per key, so a year of cycles costs milliseconds."""
    frame = frame.sort_values([key_col, time_col], ignore_index=True)
    at_cycle = cycles.to_numpy(dtype="datetime64[ns]")
    times = frame[time_col].to_numpy(dtype="datetime64[ns]")
    keys = frame[key_col].to_numpy()
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
    found = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        stops = lo + np.searchsorted(times[lo:hi], at_cycle, side="right")
        starts = np.maximum(stops - lookback, lo)
        some = stops > starts
        if some.any():
            found.append((some, starts[some], stops[some]))
    return frame, found


def visible_as_of(
    frame: pd.DataFrame, time_col: str, key_col: str, cycle_times: Sequence, lookback: int
) -> pd.DataFrame:
    """For each cycle, the last `lookback` rows per key whose `time_col` is at or before it,
    repeated per cycle (the rates; the daily bars are kept once, `daily_view`). The result
    carries `cycle_ts` (naive New York time)."""
    cycles = pd.DatetimeIndex([calendar.to_naive_ny(c) for c in cycle_times])
    ordered, found = _window_bounds(frame, time_col, key_col, cycles, lookback)
    if not found:
        return frame.iloc[0:0].assign(cycle_ts=pd.Series([], dtype="datetime64[ns]"))
    pieces = []
    for some, starts, stops in found:
        piece = ordered.iloc[window_rows(starts, stops)].copy()
        piece["cycle_ts"] = np.repeat(cycles.to_numpy()[some], stops - starts)
        pieces.append(piece)
    return pd.concat(pieces, ignore_index=True)


def _daily_view(published: pd.DataFrame, cycles: pd.DatetimeIndex, lookback: int) -> DailyView:
    """The as-of rule's windows over daily bars, without repeating a bar for each cycle that
    sees it."""
    published, found = _window_bounds(published, "bar_ts", "ticker", cycles, lookback)
    tickers = published["ticker"].to_numpy()
    windows, seen = [], np.zeros(len(published) + 1, dtype=np.int64)
    for some, starts, stops in found:
        np.add.at(seen, starts, 1)
        np.add.at(seen, stops, -1)
        windows.append(
            pd.DataFrame(
                {"cycle_ts": cycles[some], "ticker": tickers[starts[0]], "start": starts}
            ).assign(stop=stops)
        )
    # Only the bars some cycle sees (a bar published after the last cycle is not one).
    kept = np.cumsum(seen[:-1]) > 0
    moved = np.cumsum(kept) - 1  # a kept row's index among the kept
    windows = (
        pd.concat(windows, ignore_index=True)
        if windows
        else pd.DataFrame({"cycle_ts": pd.DatetimeIndex([]), "ticker": [], "start": [], "stop": []})
    )
    windows["start"] = moved[windows["start"].to_numpy(dtype=np.int64)]
    windows["stop"] = moved[windows["stop"].to_numpy(dtype=np.int64) - 1] + 1
    windows = windows.sort_values(["cycle_ts", "ticker"], ignore_index=True)
    return DailyView(published[kept].reset_index(drop=True), windows)


def _check_fresh(view: DailyView, cycle_times: pd.DatetimeIndex, tickers: Sequence[str]):
    """Fail when a cycle would see no bars, or bars many sessions stale, for any ticker (the
    first such cycle in time order is named)."""
    last = view.last_bars()
    latest = (
        last.set_index(["cycle_ts", "ticker"])["session_date"]
        .unstack()
        .reindex(index=cycle_times, columns=list(tickers))
    )
    closes = calendar.all_session_closes()
    sessions = closes.normalize()
    # Sessions behind: from a ticker's latest bar to the last session closed by the cycle.
    expected = closes.searchsorted(cycle_times, side="right") - 1
    seen = latest.to_numpy(dtype="datetime64[ns]")
    at = sessions.searchsorted(seen.ravel(), side="right").reshape(seen.shape) - 1
    behind = expected[:, None] - at
    missing = np.isnat(seen)
    stale = ~missing & (behind > STALE_AFTER_SESSIONS) & (expected[:, None] >= 0)
    bad = np.flatnonzero((missing | stale).any(axis=1))
    if len(bad) == 0:
        return
    i = bad[0]
    cycle, row = cycle_times[i], latest.iloc[i]
    if missing[i].any():
        names = [t for t, m in zip(latest.columns, missing[i], strict=True) if m]
        raise MarketDataError(
            f"cycle {cycle:%Y-%m-%d %H:%M} sees no bars for {', '.join(names)} in the "
            f"{LOOKBACK_DAYS} days before it: the source has no data for that span"
        )
    names = sorted(t for t, s in zip(latest.columns, stale[i], strict=True) if s)
    raise MarketDataError(
        f"cycle {cycle:%Y-%m-%d %H:%M}: bars for {', '.join(names)} end on "
        f"{row[names].min():%Y-%m-%d}, more than {STALE_AFTER_SESSIONS} sessions "
        f"before {sessions[expected[i]]:%Y-%m-%d}; the source has no data this recent"
    )


def daily_view(
    source, cycle_times: Sequence, tickers: Sequence[str] = TICKERS
) -> tuple[DailyView, pd.DataFrame]:
    """(bars, rates) visible at each cycle, from any market source: the daily bars as a
    `DailyView`, the rates per cycle (cycle_ts, series, obs_date, value, as_of, source; VIX is
    added as the `vix` series)."""
    cycles = pd.DatetimeIndex(sorted({calendar.to_naive_ny(c) for c in cycle_times}))
    if len(cycles) == 0:
        raise ValueError("market_snapshot needs at least one cycle time")
    start = cycles.min().normalize() - pd.Timedelta(days=LOOKBACK_DAYS)
    end = cycles.max()

    source = gated(source)
    raw_bars = source.daily_bars(list(tickers), start, end)
    view = _daily_view(publish_bars(raw_bars), cycles, BAR_LOOKBACK_SESSIONS)
    _check_fresh(view, cycles, tickers)
    view.bars["source"] = source.name

    raw_rates = source.rate_observations(list(RATE_SERIES), start, end)
    rates = visible_as_of(publish_rates(raw_rates), "as_of", "series", cycles, RATE_LOOKBACK_OBS)
    missing = sorted(set(RATE_SERIES.values()) - set(rates["series"]))
    if missing:
        raise MarketDataError(f"no published observations of {', '.join(missing)} for these cycles")
    vix = view.per_cycle(["VIX"])
    vix_rows = pd.DataFrame(
        {
            "cycle_ts": vix["cycle_ts"],
            "series": "vix",
            "obs_date": vix["session_date"],
            "value": vix["close"].round(2),
            "as_of": vix["bar_ts"],
        }
    )
    rates = pd.concat([rates[vix_rows.columns], vix_rows], ignore_index=True)
    rates["source"] = source.name
    rates = rates.sort_values(["cycle_ts", "series", "as_of"]).reset_index(drop=True)
    return view, rates


def market_snapshot(
    source, cycle_times: Sequence, tickers: Sequence[str] = TICKERS
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`daily_view` with the bars one row per cycle, ticker and visible session (columns
    `BAR_COLUMNS`): the frame tests and audits read."""
    view, rates = daily_view(source, cycle_times, tickers)
    return view.per_cycle(), rates


def quotes_as_of(
    source,
    daily: DailyView,
    cycle_times: Sequence,
    previous: Sequence,
    tickers: Sequence[str] = TICKERS,
    intraday: bool = True,
) -> pd.DataFrame:
    """Each cycle's quote of each ticker (`quotes.market_quotes`): from the source's intraday
    bars visible at the cycle (a bar from its end), else the last daily close the cycle sees
    in `daily` (`daily_view`). Sources without intraday bars, or `intraday=False`, quote closes."""
    from .quotes import market_quotes

    source = gated(source)
    cycles = [calendar.to_naive_ny(c) for c in cycle_times]
    earlier = [calendar.to_naive_ny(p) for p in previous if p is not None and not pd.isna(p)]
    fetch = getattr(source, "intraday_bars", None) if intraday else None
    if fetch is not None:
        # From eight days before the earliest cycle (or its previous cycle): the previous
        # session's close is in it across any closure the NYSE has had since 2001.
        start = min(cycles + earlier).normalize() - pd.Timedelta(days=8)
        bars_intraday = fetch(list(tickers), start, max(cycles))
    else:
        bars_intraday = pd.DataFrame(columns=["ticker", "bar_start", "bar_end", "close"])
    quotes = market_quotes(
        bars_intraday, daily, cycles, [pd.NaT if p is None else p for p in previous], tickers
    )
    quotes["source"] = source.name
    return quotes


def scoring_prices(
    source,
    tickers: Sequence[str],
    start,
    end,
    intraday: bool = True,
    intraday_tickers: Sequence[str] | None = None,
    intraday_start=None,
    daily: bool = True,
) -> pd.DataFrame:
    """The prices calls are scored from: ticker, bar_ts (when the price became known), close,
    series ("daily": published closes; "intraday": each bar's close at its end, for
    `intraday_tickers`, default all, from `intraday_start`, default `start`); `daily=False`
    leaves the daily closes out."""
    source = gated(source)
    frames = []
    if daily:
        closes = publish_bars(source.daily_bars(list(tickers), start, end))
        frames.append(closes[["ticker", "bar_ts", "close"]].assign(series="daily"))
    fetch = getattr(source, "intraday_bars", None) if intraday else None
    if fetch is not None:
        wanted = list(tickers) if intraday_tickers is None else sorted(set(intraday_tickers))
        first = start if intraday_start is None else max(pd.Timestamp(start), intraday_start)
        bars = fetch(wanted, first, end) if wanted else pd.DataFrame()
        if len(bars):
            frames.append(
                bars[["ticker", "bar_end", "close"]]
                .rename(columns={"bar_end": "bar_ts"})
                .assign(series="intraday")
            )
    if not frames:
        return pd.DataFrame(columns=["ticker", "bar_ts", "close", "series"])
    return pd.concat(frames, ignore_index=True)
