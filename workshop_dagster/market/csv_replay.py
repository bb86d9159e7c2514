"""The `csv:PATH` market source: replay a folder of daily CSVs and FRED rate series.

Layout (that of `shared/data/market/`):
    PATH/daily/<TICKER>.csv   date,open,high,low,close,volume   (VIX for ^VIX)
    PATH/rates/<SERIES>.csv   date,value                        (FRED ids: DGS10, DGS2, T10Y2Y, DFF)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from . import calendar
from .news import empty_news

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


class MarketDataError(RuntimeError):
    """Market data could not be had; the message names what is missing.

    `transient` marks failures a retry may cure (the network); the rest (an unknown ticker, a
    missing file, a source that ends before the cycle) fail at once.
    """

    def __init__(self, message: str, transient: bool = False):
        super().__init__(message)
        self.transient = transient


@lru_cache(maxsize=64)
def _read_daily(path: str, mtime: float) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.columns = [c.strip().lower().replace(" ", "_") for c in frame.columns]
    missing = {"date", *BAR_COLUMNS} - set(frame.columns)
    if missing:
        raise MarketDataError(f"{path}: missing columns {sorted(missing)}")
    frame["session_date"] = pd.to_datetime(frame["date"].astype(str).str[:10])
    frame = frame[["session_date", *BAR_COLUMNS]].dropna(subset=["close"])
    # Keep only NYSE sessions (Yahoo's VIX history has a few rows on exchange holidays).
    sessions = calendar.sessions(frame["session_date"].min(), frame["session_date"].max())
    return frame[frame["session_date"].isin(sessions)].reset_index(drop=True)


@lru_cache(maxsize=16)
def _read_rates(path: str, mtime: float) -> pd.DataFrame:
    frame = pd.read_csv(path)
    date_col, value_col = frame.columns[0], frame.columns[1]
    values = pd.to_numeric(frame[value_col], errors="coerce")  # FRED marks gaps with "."
    out = pd.DataFrame({"obs_date": pd.to_datetime(frame[date_col]), "value": values})
    return out.dropna().reset_index(drop=True)


class CsvMarket:
    """Replays a folder of CSVs; as-of visibility is applied by `asof`, as for every source."""

    def __init__(self, root: str | Path, name: str = "csv"):
        self.root = Path(root).expanduser()
        self.name = name
        if not (self.root / "daily").is_dir():
            raise MarketDataError(
                f"market folder {self.root} has no daily/ subfolder (expected daily/<TICKER>.csv)"
            )

    def _file(self, sub: str, stem: str) -> Path:
        return self.root / sub / f"{stem}.csv"

    def daily_bars(self, tickers, start, end) -> pd.DataFrame:
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        missing = [t for t in tickers if not self._file("daily", t).exists()]
        if missing:
            raise MarketDataError(f"no daily CSV for {missing} in {self.root / 'daily'}")
        frames = []
        for t in tickers:
            path = self._file("daily", t)
            bars = _read_daily(str(path), path.stat().st_mtime)
            bars = bars[bars["session_date"].between(start, end)]
            frames.append(bars.assign(ticker=t))
        return pd.concat(frames, ignore_index=True)[["ticker", "session_date", *BAR_COLUMNS]]

    def rate_observations(self, codes, start, end) -> pd.DataFrame:
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
        missing = [c for c in codes if not self._file("rates", c).exists()]
        if missing:
            raise MarketDataError(f"no rate CSV for {missing} in {self.root / 'rates'}")
        frames = []
        for code in codes:
            path = self._file("rates", code)
            obs = _read_rates(str(path), path.stat().st_mtime)
            frames.append(obs[obs["obs_date"].between(start, end)].assign(code=code))
        return pd.concat(frames, ignore_index=True)[["code", "obs_date", "value"]]

    def news(self, tickers, start, end) -> pd.DataFrame:
        return empty_news()
