"""The `csv:PATH` market source: replay a folder of daily CSVs and FRED rate series.

Layout (that of `shared/data/market/`):
    PATH/daily/<TICKER>.csv   date,open,high,low,close,volume   (VIX for ^VIX)
    PATH/rates/<SERIES>.csv   date,value                        (FRED ids: DGS10, DGS2, T10Y2Y, DFF)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import calendar
from .errors import MarketDataError
from .news import empty_news

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def _read_table(path: str) -> pd.DataFrame:
    """A CSV as text cells, with the file line of each row in `line` (header: line 1)."""
    try:
        frame = pd.read_csv(path, dtype=str, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{path}: not a readable CSV file ({exc})".strip()) from None
    frame.columns = [str(c).strip().lower().replace(" ", "_") for c in frame.columns]
    frame["line"] = frame.index + 2
    return frame.dropna(how="all", subset=[c for c in frame.columns if c != "line"])


def _listed(rows: pd.DataFrame, column: str) -> str:
    """'line N ('text'), ...' for the rows of a bad cell, at most ten."""
    pairs = zip(rows["line"].head(10), rows[column].head(10), strict=True)
    more = f" and {len(rows) - 10} more lines" if len(rows) > 10 else ""
    return ", ".join(f"line {n} ({v!r})" for n, v in pairs) + more


def _dates(frame: pd.DataFrame, column: str, path: str) -> pd.Series:
    dates = pd.to_datetime(frame[column].str.strip().str[:10], errors="coerce", format="%Y-%m-%d")
    bad = dates.isna()
    if bad.any():
        listed = _listed(frame[bad], column)
        raise MarketDataError(f"{path}: {column} is not a YYYY-MM-DD date on {listed}")
    return dates


@lru_cache(maxsize=64)
def _read_daily(path: str, mtime: float) -> pd.DataFrame:
    """The file's bars with their origin ("<path> line N"). A cell that is not a number keeps
    its text, so the market data gate (`quality.bar_problems`) can name it."""
    frame = _read_table(path)
    missing = {"date", *BAR_COLUMNS} - set(frame.columns)
    if missing:
        raise MarketDataError(f"{path}: missing columns {sorted(missing)}")
    frame["session_date"] = _dates(frame, "date", path)
    for col in BAR_COLUMNS:
        text = frame[col].str.strip()
        number = pd.to_numeric(text, errors="coerce")
        frame[col] = number.astype(object).where(number.notna(), text)
    frame["origin"] = path + " line " + frame["line"].astype(str)
    frame = frame[["session_date", *BAR_COLUMNS, "origin"]]
    # Keep only NYSE sessions (Yahoo's VIX history has a few rows on exchange holidays).
    sessions = calendar.sessions(frame["session_date"].min(), frame["session_date"].max())
    return frame[frame["session_date"].isin(sessions)].reset_index(drop=True)


@lru_cache(maxsize=16)
def _read_rates(path: str, mtime: float) -> pd.DataFrame:
    frame = _read_table(path)
    if len(frame.columns) < 3:
        raise MarketDataError(f"{path}: expected two columns, date and value")
    date_col, value_col = frame.columns[0], frame.columns[1]
    text = frame[value_col].fillna("").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    # FRED marks a day without an observation with "." (or leaves it empty); anything else
    # that is not a finite number is a corrupt row.
    bad = (values.isna() & ~text.isin(["", "."])) | np.isinf(values)
    if bad.any():
        raise MarketDataError(
            f"{path}: {value_col} is not a number on {_listed(frame[bad], value_col)}"
        )
    out = pd.DataFrame({"obs_date": _dates(frame, date_col, path), "value": values})
    dup = out["obs_date"].duplicated(keep=False)
    if dup.any():
        listed = ", ".join(f"line {n}" for n in frame.loc[dup, "line"])
        raise MarketDataError(f"{path}: more than one observation for one date on {listed}")
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
        columns = ["ticker", "session_date", *BAR_COLUMNS, "origin"]
        return pd.concat(frames, ignore_index=True)[columns]

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
