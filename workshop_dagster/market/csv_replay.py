"""The `csv:PATH` market source: replay a folder of daily CSVs and FRED rate series.

Layout (that of `shared/data/market/`):
    PATH/daily/<TICKER>.csv   date,open,high,low,close,volume   (VIX for ^VIX)
    PATH/rates/<SERIES>.csv   date,value                        (FRED ids: DGS10, DGS2, T10Y2Y, DFF)
    PATH/news/{headlines,events}.csv.gz   recorded headlines and release times (optional;
                              `news_replay`)
    PATH/intraday/{1m,5m}/<TICKER>.csv.gz   timestamp,open,high,low,close,volume  (optional;
                              stamped with the bar's start, ISO 8601 with its UTC offset, or
                              naive in the zone the file PATH/intraday/TIMEZONE names)
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import calendar
from .csv_files import instants_in_new_york, listed_lines, read_table
from .errors import MarketDataError
from .release_calendar import in_span

BAR_COLUMNS = ("open", "high", "low", "close", "volume")


def _dates(frame: pd.DataFrame, column: str, path: str) -> pd.Series:
    dates = pd.to_datetime(frame[column].str.strip().str[:10], errors="coerce", format="%Y-%m-%d")
    bad = dates.isna()
    if bad.any():
        listed = listed_lines(frame[bad], column)
        raise MarketDataError(f"{path}: {column} is not a YYYY-MM-DD date on {listed}")
    return dates


@lru_cache(maxsize=64)
def _read_daily(path: str, mtime: float) -> pd.DataFrame:
    """The file's bars with their origin ("<path> line N"). A cell that is not a number keeps
    its text, so the market data gate (`quality.bar_problems`) can name it."""
    frame = read_table(path)
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
    frame = read_table(path)
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
            f"{path}: {value_col} is not a number on {listed_lines(frame[bad], value_col)}"
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

    def intraday_bars(self, tickers, start, end) -> pd.DataFrame:
        return intraday_bars(self.root, tickers, start, end)

    def news(self, tickers, start, end) -> pd.DataFrame:
        """The recorded headlines published in [start, end] (`news_replay`: PATH/news/)."""
        from .news_replay import headlines

        return headlines(self.root, start, end)

    def releases(self, start, end) -> pd.DataFrame:
        """The release calendar's rows known by `end` and not over before `start`."""
        from .news_replay import releases

        return in_span(releases(self.root), start, end)


# -- intraday bars -------------------------------------------------------------------------------
INTRADAY_RESOLUTIONS = {"1m": 1, "5m": 5, "1h": 60}  # folder -> bar minutes, finest first


ZONE_FILE = "TIMEZONE"  # intraday/TIMEZONE: the IANA zone of naive stamps ("UTC", ...)


def stated_zone(root: Path) -> str | None:
    """The zone `root/intraday/TIMEZONE` names for naive stamps (None: the file is absent);
    a name that is no IANA zone is refused, naming the file."""
    path = root / "intraday" / ZONE_FILE
    if not path.exists():
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = path.read_text(encoding="utf-8").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MarketDataError(
            f"{path}: {name!r} is not a time zone name (e.g. America/New_York, UTC)"
        ) from None
    return name


@lru_cache(maxsize=32)
def _read_intraday(path: str, mtime: float, minutes: int, zone: str | None) -> pd.DataFrame:
    """An intraday file's bars: `bar_start` and `bar_end` (naive New York; a bar stamped 10:50
    covers 10:50-10:54:59 at 5 minutes and is known at 10:55), prices, volume, the file line. A
    corrupt cell, a duplicated or unordered stamp fails, naming the file and its lines.

    Read typed first (a 5-minute file is 120k rows); a file that does not read cleanly that way
    is read again as text, so the error can name each bad line."""
    try:
        frame = pd.read_csv(
            path,
            dtype={"timestamp": str, **dict.fromkeys(BAR_COLUMNS, "float64")},
            usecols=["timestamp", *BAR_COLUMNS],
            skip_blank_lines=False,
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return _read_intraday_checked(path, minutes, zone)
    except (OSError, EOFError) as exc:  # a truncated or non-gzip .gz: no retry reads it better
        raise MarketDataError(
            f"{path}: not a readable gzip CSV file ({type(exc).__name__}: {exc}); replace the "
            "file (a truncated download?)"
        ) from None
    prices = frame[list(BAR_COLUMNS)].to_numpy()
    starts = instants_in_new_york(frame["timestamp"].fillna(""), zone)
    order = starts.diff().dt.total_seconds()
    if (
        not np.isfinite(prices).all()
        or (prices[:, :4] <= 0).any()
        or (prices[:, 4] < 0).any()
        or starts.isna().any()
        or (order <= 0).any()
    ):
        return _read_intraday_checked(path, minutes, zone)
    out = frame[list(BAR_COLUMNS)].assign(bar_start=starts, line=frame.index + 2)
    return _intraday_frame(out, path, minutes)


def _intraday_frame(out: pd.DataFrame, path: str, minutes: int) -> pd.DataFrame:
    out["bar_end"] = out["bar_start"] + pd.Timedelta(minutes=minutes)
    out["resolution"] = f"{minutes}m"
    out["file"] = path
    columns = ["bar_start", "bar_end", *BAR_COLUMNS, "resolution", "file", "line"]
    return out[columns].reset_index(drop=True)


def _read_intraday_checked(path: str, minutes: int, zone: str | None) -> pd.DataFrame:
    try:
        frame = read_table(path)
    except (OSError, EOFError) as exc:
        raise MarketDataError(
            f"{path}: not a readable gzip CSV file ({type(exc).__name__}: {exc}); replace the "
            "file (a truncated download?)"
        ) from None
    missing = {"timestamp", *BAR_COLUMNS} - set(frame.columns)
    if missing:
        raise MarketDataError(f"{path}: missing columns {sorted(missing)}")
    out = pd.DataFrame({"bar_start": instants_in_new_york(frame["timestamp"].fillna(""), zone)})
    bad = out["bar_start"].isna()
    if bad.any():
        stated = (
            f"(or a naive time in {zone}, as {ZONE_FILE} states)"
            if zone
            else f"(a naive time needs its zone named in intraday/{ZONE_FILE})"
        )
        raise MarketDataError(
            f"{path}: timestamp is not an ISO 8601 time with its UTC offset {stated} on "
            f"{listed_lines(frame[bad.to_numpy()], 'timestamp')}"
        )
    for col in BAR_COLUMNS:
        text = frame[col].fillna("").str.strip()
        number = pd.to_numeric(text, errors="coerce")
        wrong = number.isna() | ~np.isfinite(number) | (number < 0)
        if col != "volume":
            wrong |= number <= 0
        if wrong.any():
            raise MarketDataError(
                f"{path}: {col} is not a positive number on {listed_lines(frame[wrong], col)}"
            )
        out[col] = number.astype(float)
    order = out["bar_start"].diff().dt.total_seconds()
    if (order <= 0).any():
        rows = frame[(order <= 0).to_numpy()]
        raise MarketDataError(
            f"{path}: timestamps repeat or go back in time on {listed_lines(rows, 'timestamp')}"
        )
    return _intraday_frame(out.assign(line=frame["line"].to_numpy()), path, minutes)


def intraday_bars(root: Path, tickers, start, end) -> pd.DataFrame:
    """Bars from `root/intraday/<res>/<TICKER>.csv.gz` starting between start and end: for each
    ticker and session the finest resolution that has the session wins. Tickers without a file
    have no rows (their quotes fall back to the last close, `asof.market_quotes`)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    zone = stated_zone(root)
    frames = []
    for ticker in tickers:
        taken: set = set()
        for folder, minutes in INTRADAY_RESOLUTIONS.items():
            path = root / "intraday" / folder / f"{ticker}.csv.gz"
            if not path.exists():
                continue
            bars = _read_intraday(str(path), path.stat().st_mtime, minutes, zone)
            lo, hi = bars["bar_start"].searchsorted([start, end], side="left")
            bars = bars.iloc[lo:hi]
            days = bars["bar_start"].dt.normalize()
            fresh = ~days.isin(taken)
            taken |= set(days[fresh].unique())
            frames.append(bars[fresh].assign(ticker=ticker))
    columns = ["ticker", "bar_start", "bar_end", *BAR_COLUMNS, "resolution", "file", "line"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(frames, ignore_index=True)[columns]
    return out.sort_values(["ticker", "bar_start"], kind="stable").reset_index(drop=True)
