"""The `yfinance` market source: live bars from Yahoo (yfinance), rates from FRED's CSV series.

yfinance never raises when Yahoo is unreachable or a ticker is wrong: it logs and hands back an
empty frame (or all-NaN columns for the failed tickers). Here that is a `MarketDataError` naming
the tickers, so a run fails loudly instead of writing an empty cycle.

Every download is cached on disk in the `csv:` layout (`daily/`, `rates/`, `intraday/<res>/`),
with a coverage file saying what span was fetched and when; a re-run, or a later `csv:` replay of
the cache folder, needs no network. Only bars that had ended when they were fetched are cached (a
daily bar once its session closed, an intraday bar once its minutes are over), so a partial bar
can never be replayed as if it were final.

Intraday history comes at the finest resolution Yahoo serves for its age, pre- and post-market
included: 1-minute bars for the last 7 days, 5-minute for the last 60, hourly for the last 730.
The bars are split- but not dividend-adjusted (Yahoo's raw prices), like `shared/data`'s: no
return is ever taken across them and the daily series (`market/quotes.py`). Yahoo's rate-limit
error is retried with a backoff, then fails naming the tickers.

(Over 350 lines: daily bars, intraday bars and FRED rates share one cache and its coverage
file; split, each part would reach into the others' cache.)
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from . import calendar
from .csv_replay import BAR_COLUMNS
from .errors import MarketDataError
from .universe import yahoo_symbol

FRED_CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
FRED_TIMEOUT_S = 30


def frame_from_yfinance(raw: pd.DataFrame, tickers: Iterable[str]) -> pd.DataFrame:
    """Long bars (ticker, session_date, OHLCV) from what `yfinance.download` returns.

    Accepts the MultiIndex layout of yfinance >= 0.2.48 (levels Price x Ticker, either order)
    and the flat single-ticker layout of older versions. Raises naming every ticker with no bars.
    """
    tickers = list(tickers)
    if raw is None or raw.empty:
        raise MarketDataError(
            f"yfinance returned no data for {', '.join(tickers)} (Yahoo unreachable, "
            "rate-limited, or unknown tickers)",
            transient=True,
        )
    if not isinstance(raw.columns, pd.MultiIndex) and len(tickers) != 1:
        raise MarketDataError(f"yfinance returned a single-ticker frame for {tickers}")
    frames = [_one_ticker(sub, t) for t, sub in _per_ticker(raw, tickers)]
    bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    have = set(bars["ticker"]) if len(bars) else set()
    missing = [t for t in tickers if t not in have]
    if missing:
        raise MarketDataError(
            f"yfinance returned no bars for {', '.join(missing)} (unknown or delisted ticker, or "
            "Yahoo unreachable)"
        )
    return bars


def _per_ticker(raw: pd.DataFrame, tickers: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """(ticker, its columns) from a `yfinance.download` frame: the MultiIndex layout of
    yfinance >= 0.2.48 (levels Price x Ticker, either order), or the flat one of one ticker."""
    if not isinstance(raw.columns, pd.MultiIndex):
        return [(tickers[0], raw)] if len(tickers) == 1 else []
    level = 0 if {"Close", "Open"} & set(raw.columns.get_level_values(0)) else 1
    symbols = set(raw.columns.get_level_values(1 - level))
    return [
        (t, raw.xs(yahoo_symbol(t), axis=1, level=1 - level))
        for t in tickers
        if yahoo_symbol(t) in symbols
    ]


def _normalized(sub: pd.DataFrame) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """One ticker's columns in snake case (Adj Close as close when there is no Close) and its
    index as naive New York time."""
    sub = sub.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    if "close" not in sub.columns and "adj_close" in sub.columns:
        sub = sub.rename(columns={"adj_close": "close"})
    index = pd.DatetimeIndex(sub.index)
    if index.tz is not None:
        index = index.tz_convert(calendar.NY).tz_localize(None)
    return sub, index


def _one_ticker(sub: pd.DataFrame, ticker: str) -> pd.DataFrame:
    sub, index = _normalized(sub)
    out = pd.DataFrame(
        {"ticker": ticker, "session_date": index.normalize()}
        | {c: pd.to_numeric(sub[c], errors="coerce").to_numpy() for c in BAR_COLUMNS}
    )
    return out.dropna(subset=["close"]).reset_index(drop=True)


def parse_fred_csv(text: str, code: str) -> pd.DataFrame:
    """FRED's graph CSV (`observation_date,<ID>` or the older `DATE,<ID>`; gaps are ".")."""
    from io import StringIO

    frame = pd.read_csv(StringIO(text))
    if frame.shape[1] < 2 or frame.empty:
        raise MarketDataError(f"FRED returned no observations for {code}")
    values = pd.to_numeric(frame.iloc[:, 1], errors="coerce")
    out = pd.DataFrame(
        {"code": code, "obs_date": pd.to_datetime(frame.iloc[:, 0]), "value": values}
    ).dropna()
    if out.empty:
        raise MarketDataError(f"FRED returned no observations for {code}")
    return out.reset_index(drop=True)


def fetch_fred_text(code: str, start: pd.Timestamp, end: pd.Timestamp) -> str:
    query = urllib.parse.urlencode(
        {"id": code, "cosd": start.date().isoformat(), "coed": end.date().isoformat()}
    )
    try:
        with urllib.request.urlopen(f"{FRED_CSV_URL}?{query}", timeout=FRED_TIMEOUT_S) as resp:
            return resp.read().decode("utf-8")
    except OSError as exc:
        raise MarketDataError(f"could not fetch FRED series {code}: {exc}", transient=True) from exc


def _yf_download(symbols: list[str], start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    import yfinance as yf  # heavy: imported only when the live source is used

    return yf.download(
        symbols,
        start=start.date().isoformat(),
        end=(end + pd.Timedelta(days=1)).date().isoformat(),
        interval="1d",
        auto_adjust=True,
        progress=False,
        group_by="column",
        threads=False,
    )


# (resolution, bar minutes, days back from now that Yahoo serves it), finest first.
INTRADAY_WINDOWS = (("1m", 1, 7), ("5m", 5, 59), ("1h", 60, 729))
RATE_LIMIT_BACKOFF_S = (2.0, 8.0, 30.0)


def _yf_download_intraday(
    symbols: list[str], start: pd.Timestamp, end: pd.Timestamp, interval: str
) -> pd.DataFrame:
    import yfinance as yf

    return yf.download(
        symbols,
        start=start.tz_localize(calendar.NY),
        end=end.tz_localize(calendar.NY),
        interval=interval,
        prepost=True,
        auto_adjust=False,
        progress=False,
        group_by="column",
        threads=False,
    )


def _is_rate_limit(exc: Exception) -> bool:
    return type(exc).__name__ == "YFRateLimitError" or "Too Many Requests" in str(exc)


def intraday_frame_from_yfinance(raw: pd.DataFrame, tickers: Iterable[str]) -> pd.DataFrame:
    """Long intraday bars (ticker, bar_start naive New York, OHLCV) from `yfinance.download`'s
    intraday frame: a tz-aware index stamped with each bar's start, columns Price x Ticker (or
    flat for one ticker). Rows without a close (Yahoo's empty minutes) are dropped; a ticker
    with no bars at all has none (its quotes fall back to the last close, marked stale)."""
    tickers = list(tickers)
    columns = ["ticker", "bar_start", *BAR_COLUMNS]
    empty = pd.DataFrame(
        {"ticker": pd.Series(dtype=object), "bar_start": pd.Series(dtype="datetime64[ns]")}
        | {c: pd.Series(dtype=float) for c in BAR_COLUMNS}
    )
    if raw is None or raw.empty:
        return empty
    out = []
    for ticker, sub in _per_ticker(raw, tickers):
        sub, index = _normalized(sub)
        bars = pd.DataFrame(
            {"ticker": ticker, "bar_start": index.astype("datetime64[ns]")}
            | {c: pd.to_numeric(sub[c], errors="coerce").to_numpy() for c in BAR_COLUMNS}
        )
        out.append(bars.dropna(subset=["open", "high", "low", "close"]))
    if not out:
        return empty
    bars = pd.concat(out, ignore_index=True)
    bars["volume"] = bars["volume"].fillna(0.0)
    return bars[columns]


def _iso_with_offset(starts: pd.Series) -> pd.Series:
    """Naive New York times as ISO 8601 with their offset (the csv layout's `timestamp`)."""
    text = starts.dt.tz_localize(calendar.NY, ambiguous="NaT", nonexistent="NaT").dt.strftime(
        "%Y-%m-%dT%H:%M:%S%z"
    )
    return text.str[:-2] + ":" + text.str[-2:]


def _yf_news(symbol: str) -> list:
    import yfinance as yf

    return yf.Ticker(symbol).news or []


class YahooMarket:
    """Live quotes with an on-disk cache in the `csv:` layout."""

    name = "yfinance"

    def __init__(
        self,
        cache_dir: str | Path,
        download: Callable[..., pd.DataFrame] | None = None,
        fetch_fred: Callable[[str, pd.Timestamp, pd.Timestamp], str] | None = None,
        fetch_news: Callable[[str], list] | None = None,
        now: Callable[[], pd.Timestamp] | None = None,
        download_intraday: Callable[..., pd.DataFrame] | None = None,
        sleep: Callable[[float], None] | None = None,
        news_feeds: str = "",
    ):
        self.cache_dir = Path(cache_dir)
        self._download = download or _yf_download
        self._fetch_fred = fetch_fred or fetch_fred_text
        self._fetch_news = fetch_news or _yf_news
        self._news_feeds = news_feeds
        self._now = now or calendar.now_ny
        self._download_intraday = download_intraday or _yf_download_intraday
        import time

        self._sleep = sleep or time.sleep

    # -- cache -------------------------------------------------------------------------------
    @property
    def _coverage_path(self) -> Path:
        return self.cache_dir / "coverage.json"

    def _coverage(self) -> dict:
        if self._coverage_path.exists():
            return json.loads(self._coverage_path.read_text())
        return {}

    def _covered(self, kind: str, key: str, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        entry = self._coverage().get(kind, {}).get(key)
        if not entry:
            return False
        return pd.Timestamp(entry["start"]) <= start and pd.Timestamp(entry["final_through"]) >= end

    def _record(self, kind: str, key: str, start: pd.Timestamp, final_through: pd.Timestamp):
        cov = self._coverage()
        entry = cov.setdefault(kind, {}).get(key)
        if entry:
            start = min(start, pd.Timestamp(entry["start"]))
            final_through = max(final_through, pd.Timestamp(entry["final_through"]))
        cov[kind][key] = {"start": start.isoformat(), "final_through": final_through.isoformat()}
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._coverage_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cov, indent=1, sort_keys=True))
        tmp.replace(self._coverage_path)

    def _merge_csv(self, path: Path, new: pd.DataFrame, key: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            old = pd.read_csv(path)
            new = pd.concat([old, new], ignore_index=True)
        new = new.drop_duplicates(subset=[key], keep="last").sort_values(key)
        tmp = path.with_name(path.name + ".tmp")
        new.to_csv(tmp, index=False, compression="gzip" if path.name.endswith(".gz") else None)
        tmp.replace(path)

    def _cached(self):
        from .csv_replay import CsvMarket

        (self.cache_dir / "daily").mkdir(parents=True, exist_ok=True)
        return CsvMarket(self.cache_dir, name=self.name)

    # -- source interface --------------------------------------------------------------------
    def daily_bars(self, tickers, start, end) -> pd.DataFrame:
        tickers = list(tickers)
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end)
        todo = [t for t in tickers if not self._covered("daily", t, start, end)]
        if todo:
            now = self._now()
            raw = self._download([yahoo_symbol(t) for t in todo], start, end.normalize())
            bars = frame_from_yfinance(raw, todo)
            # Cache only bars whose session had closed at fetch time.
            closes = calendar.session_closes(bars["session_date"])
            final = bars[closes <= now]
            for t in todo:
                rows = final[final["ticker"] == t]
                out = rows.assign(date=rows["session_date"].dt.strftime("%Y-%m-%d"))
                self._merge_csv(
                    self.cache_dir / "daily" / f"{t}.csv", out[["date", *BAR_COLUMNS]], "date"
                )
                self._record("daily", t, start, min(now, end))
        return self._cached().daily_bars(tickers, start, end)

    def rate_observations(self, codes, start, end) -> pd.DataFrame:
        codes = list(codes)
        start, end = pd.Timestamp(start).normalize(), pd.Timestamp(end)
        for code in codes:
            if self._covered("rates", code, start, end):
                continue
            now = self._now()
            obs = parse_fred_csv(self._fetch_fred(code, start, end.normalize()), code)
            out = obs.assign(date=obs["obs_date"].dt.strftime("%Y-%m-%d"))
            self._merge_csv(
                self.cache_dir / "rates" / f"{code}.csv", out[["date", "value"]], "date"
            )
            self._record("rates", code, start, min(now, end))
        return self._cached().rate_observations(codes, start, end)

    def intraday_bars(self, tickers, start, end) -> pd.DataFrame:
        """Intraday bars from start to end, each span at the finest resolution Yahoo serves for
        its age; downloads are cached (completed bars only) and read back from the cache."""
        tickers = list(tickers)
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        now = self._now()
        newer = now  # each resolution covers the span the finer ones do not
        for res, minutes, days in INTRADAY_WINDOWS:
            lo = max(start, (now - pd.Timedelta(days=days)).normalize())
            hi, newer = min(end, newer), min(newer, lo)
            if lo >= hi:
                continue
            todo = [t for t in tickers if t != "VIX" and not self._covered(res, t, lo, hi)]
            if not todo:
                continue
            raw = self._with_rate_limit_retries(
                lambda todo=todo, lo=lo, hi=hi, res=res, minutes=minutes: self._download_intraday(
                    [yahoo_symbol(t) for t in todo], lo, hi + pd.Timedelta(minutes=minutes), res
                ),
                todo,
            )
            bars = intraday_frame_from_yfinance(raw, todo)
            done = bars[bars["bar_start"] + pd.Timedelta(minutes=minutes) <= now]
            for t in todo:
                rows = done[done["ticker"] == t]
                out = rows.assign(timestamp=_iso_with_offset(rows["bar_start"]))
                self._merge_csv(
                    self.cache_dir / "intraday" / res / f"{t}.csv.gz",
                    out[["timestamp", *BAR_COLUMNS]].dropna(subset=["timestamp"]),
                    "timestamp",
                )
                self._record(res, t, lo, hi)
        return self._cached().intraday_bars(tickers, start, end)

    def _with_rate_limit_retries(self, call: Callable[[], pd.DataFrame], tickers: list[str]):
        for wait in (*RATE_LIMIT_BACKOFF_S, None):
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - yfinance's error types vary by version
                if not _is_rate_limit(exc):
                    raise MarketDataError(
                        f"yfinance intraday download of {', '.join(tickers)} failed: {exc}",
                        transient=True,
                    ) from exc
                if wait is None:
                    raise MarketDataError(
                        f"Yahoo is rate-limiting the intraday download of {', '.join(tickers)} "
                        f"(still refused after {len(RATE_LIMIT_BACKOFF_S)} retries over "
                        f"{sum(RATE_LIMIT_BACKOFF_S):.0f} s); run the cycle again later",
                        transient=True,
                    ) from None
                self._sleep(wait)
        raise AssertionError("unreachable")

    def releases(self, start, end) -> pd.DataFrame:
        """No release calendar: Yahoo serves none (the cycles say so)."""
        from .release_calendar import empty_calendar

        return empty_calendar()

    def news(self, tickers, start, end) -> pd.DataFrame:
        """Yahoo's latest stories for each ticker and the configured feeds' items
        (`news_feeds`), fetched now: the archive makes them visible from now on. A feed that
        cannot be had is skipped and named in the frame's `attrs["notes"]`: news never fails a
        cycle."""
        from .news_feed_config import load_feeds
        from .news_feeds import fetch_all, yahoo_items

        fetched_at = self._now()
        frame, notes = yahoo_items(tickers, self._fetch_news, yahoo_symbol, fetched_at)
        frames = [frame]
        if self._news_feeds:
            feeds, feed_notes = fetch_all(load_feeds(self._news_feeds), fetched_at)
            frames.append(feeds)
            notes += feed_notes
        nonempty = [f for f in frames if len(f)]
        out = pd.concat(nonempty, ignore_index=True) if nonempty else frame
        out.attrs["notes"] = notes
        return out
