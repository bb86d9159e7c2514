"""The `yfinance` market source: live bars from Yahoo (yfinance), rates from FRED's CSV series.

yfinance never raises when Yahoo is unreachable or a ticker is wrong: it logs and hands back an
empty frame (or all-NaN columns for the failed tickers). Here that is a `MarketDataError` naming
the tickers, so a run fails loudly instead of writing an empty cycle.

Every download is cached on disk in the `csv:` layout (`daily/`, `rates/`), with a coverage file
saying what span was fetched and when; a re-run, or a later `csv:` replay of the cache folder,
needs no network. Only bars whose session had closed when they were fetched are cached, so a
partial intraday bar can never be replayed as if it were final.
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
from .news import parse_yfinance_news
from .universe import ticker_from_yahoo, yahoo_symbol

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
    frames = []
    if isinstance(raw.columns, pd.MultiIndex):
        level = 0 if {"Close", "Open"} & set(raw.columns.get_level_values(0)) else 1
        _price_level, ticker_level = level, 1 - level
        symbols = set(raw.columns.get_level_values(ticker_level))
        for t in tickers:
            sym = yahoo_symbol(t)
            if sym not in symbols:
                continue
            sub = raw.xs(sym, axis=1, level=ticker_level)
            frames.append(_one_ticker(sub, t))
    else:
        if len(tickers) != 1:
            raise MarketDataError(f"yfinance returned a single-ticker frame for {tickers}")
        frames.append(_one_ticker(raw, tickers[0]))
    bars = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    have = set(bars["ticker"]) if len(bars) else set()
    missing = [t for t in tickers if t not in have]
    if missing:
        raise MarketDataError(
            f"yfinance returned no bars for {', '.join(missing)} (unknown or delisted ticker, or "
            "Yahoo unreachable)"
        )
    return bars


def _one_ticker(sub: pd.DataFrame, ticker: str) -> pd.DataFrame:
    sub = sub.rename(columns=lambda c: str(c).strip().lower().replace(" ", "_"))
    if "close" not in sub.columns and "adj_close" in sub.columns:
        sub = sub.rename(columns={"adj_close": "close"})
    index = pd.DatetimeIndex(sub.index)
    if index.tz is not None:
        index = index.tz_convert(calendar.NY).tz_localize(None)
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
    ):
        self.cache_dir = Path(cache_dir)
        self._download = download or _yf_download
        self._fetch_fred = fetch_fred or fetch_fred_text
        self._fetch_news = fetch_news or _yf_news
        self._now = now or calendar.now_ny

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
        tmp = path.with_suffix(".tmp")
        new.to_csv(tmp, index=False)
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

    def news(self, tickers, start, end) -> pd.DataFrame:
        items = {t: self._fetch_news(yahoo_symbol(t)) for t in tickers}
        return parse_yfinance_news(
            {ticker_from_yahoo(yahoo_symbol(t)): v for t, v in items.items()}
        )
