"""The market data gate: bars that cannot be right never reach a cycle.

Every source's daily bars pass `bar_problems` before anything reads them (`open_source` wraps
each source in `GatedMarket`). A bar fails when a price is missing, not a number, not finite or
not positive; when high and low do not bound open and close; when a ticker has two bars for one
session, misses a session its own history spans, or ends before its peers; or when its close
moved further in a session than the instrument plausibly can (a bound no day of the real
1980-2026 history of this universe comes near: an index ETF would trip the exchange's circuit
breakers long before). Each problem names the ticker, the session and where the row came from
(file and line for `csv:`), so the user can fix the source instead of reading a wrong memo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import calendar
from .errors import MarketDataError
from .universe import TICKER_KIND

PRICE_COLUMNS = ("open", "high", "low", "close")
# Relative slack on high/low bounds: Yahoo's adjusted history is off by up to ~1e-4 (HYG).
OHLC_TOLERANCE = 1e-3
# Largest close-to-close move per session believed possible for each kind of instrument.
MAX_SESSION_MOVE = {"index": 0.25, "sector": 0.35, "mega_cap": 0.60, "volatility": 2.0}
# Largest move of one intraday bar's close from the previous bar's (the real 5-minute bars of
# 2024-2026 reach 5.8% for the index ETFs and 11.8% for a mega cap, after hours on earnings).
MAX_BAR_MOVE = {"index": 0.15, "sector": 0.20, "mega_cap": 0.40, "volatility": 1.0}
MAX_LISTED = 20  # problems spelled out in an error message (the metadata holds them all)


@dataclass(frozen=True)
class BarProblem:
    """One reason a bar cannot be used."""

    ticker: str
    session: str
    problem: str
    origin: str

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        when = f" {self.session}" if self.session else ""
        return f"{self.ticker}{when}: {self.problem}{where}"

    def as_row(self) -> dict:
        return {
            "ticker": self.ticker,
            "session": self.session,
            "problem": self.problem,
            "origin": self.origin,
        }


class BadMarketData(MarketDataError):
    """The source served bars that fail the gate; permanent (a retry reads the same rows)."""

    def __init__(self, source: str, problems: list[BarProblem]):
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED])
        more = (
            f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        )
        super().__init__(
            f"market data from {source} failed the data-quality gate "
            f"({len(problems)} problem{'s' if len(problems) != 1 else ''}); nothing was "
            f"written for these cycles. Fix the source and run them again:\n{listed}{more}",
            transient=False,
        )


def _origin(frame: pd.DataFrame) -> pd.Series:
    if "origin" in frame.columns:
        return frame["origin"].fillna("").astype(str)
    return pd.Series("", index=frame.index)


def unbounded(o, h, low, c) -> tuple:
    """(high below max(open, close), low above min(open, close)), beyond OHLC_TOLERANCE: the
    one bounds rule for daily and intraday bars."""
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    return h < top * (1 - OHLC_TOLERANCE), low > bottom * (1 + OHLC_TOLERANCE)


def bar_problems(bars: pd.DataFrame) -> list[BarProblem]:
    """Every problem in a frame of daily bars (ticker, session_date, open, high, low, close,
    volume and, when the source knows it, origin), in ticker and session order."""
    if bars.empty:
        return []
    bars = bars.sort_values(["ticker", "session_date"], kind="stable")
    origin = _origin(bars)
    session = pd.to_datetime(bars["session_date"]).dt.strftime("%Y-%m-%d")
    found: list[tuple[str, str, str, str]] = []

    def add(mask, text) -> None:
        mask = np.asarray(mask, dtype=bool)
        texts = text if isinstance(text, pd.Series) else pd.Series(text, index=bars.index)
        for i in np.flatnonzero(mask):
            found.append((bars["ticker"].iat[i], session.iat[i], str(texts.iat[i]), origin.iat[i]))

    prices = {}
    for col in PRICE_COLUMNS:
        values = pd.to_numeric(bars[col], errors="coerce").astype(float)
        prices[col] = values
        raw = bars[col].astype(str)
        add(values.isna(), f"{col} is missing or not a number (" + raw + ")")
        add(np.isinf(values), f"{col} is not finite (" + raw + ")")
        add(values <= 0, f"{col} is not positive ({col} " + raw + ")")
    volume = pd.to_numeric(bars["volume"], errors="coerce").astype(float)
    add(~np.isfinite(volume) | (volume < 0), "volume is missing, negative or not a number")

    o, h, low, c = (prices[k] for k in PRICE_COLUMNS)
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)
    high_short, low_over = unbounded(o, h, low, c)
    add(
        ok & high_short,
        "high " + h.round(4).astype(str) + " is below max(open, close) " + top.round(4).astype(str),
    )
    add(
        ok & low_over,
        "low " + low.round(4).astype(str) + " is above min(open, close) "
        "" + bottom.round(4).astype(str),
    )

    dup = bars.duplicated(["ticker", "session_date"], keep=False)
    add(dup, "more than one bar for this session")

    first = ~bars["ticker"].eq(bars["ticker"].shift())
    previous = c.shift().where(~first)
    move = c / previous - 1
    bound = (
        bars["ticker"].map(TICKER_KIND).map(MAX_SESSION_MOVE).fillna(max(MAX_SESSION_MOVE.values()))
    )
    add(
        (move.abs() > bound) & ~dup,
        "close moved " + (100 * move).round(1).astype(str) + "% in one session, beyond the "
        "bound of ±" + (100 * bound).round(0).astype(int).astype(str) + "% for this instrument",
    )

    problems = [BarProblem(*row) for row in found]
    problems += _gaps_and_staleness(bars)
    return sorted(problems, key=lambda p: (p.ticker, p.session, p.problem))


def _gaps_and_staleness(bars: pd.DataFrame) -> list[BarProblem]:
    """Sessions missing inside a ticker's own span, and tickers that end before their peers."""
    days = pd.to_datetime(bars["session_date"]).dt.normalize()
    per_ticker = days.groupby(bars["ticker"])
    lasts = per_ticker.max()
    latest = lasts.max()
    problems = []
    sessions = calendar.sessions(days.min(), days.max())
    for ticker, seen in per_ticker:
        span = sessions[(sessions >= seen.min()) & (sessions <= seen.max())]
        missing = span.difference(pd.DatetimeIndex(seen.unique()))
        for day in missing[:5]:
            problems.append(
                BarProblem(ticker, f"{day:%Y-%m-%d}", "no bar for this trading session", "")
            )
        if len(missing) > 5:
            problems.append(
                BarProblem(ticker, "", f"{len(missing) - 5} more sessions without a bar", "")
            )
        if lasts[ticker] < latest:
            behind = int(((sessions > lasts[ticker]) & (sessions <= latest)).sum())
            problems.append(
                BarProblem(
                    ticker,
                    f"{lasts[ticker]:%Y-%m-%d}",
                    f"its last bar is {behind} session{'s' if behind != 1 else ''} behind its "
                    f"peers' ({latest:%Y-%m-%d}): the source is stale for this ticker",
                    "",
                )
            )
    return problems


def check_bars(bars: pd.DataFrame, source: str) -> pd.DataFrame:
    """The bars, unchanged, or `BadMarketData` listing every problem."""
    problems = bar_problems(bars)
    if problems:
        raise BadMarketData(source, problems)
    return bars


class GatedMarket:
    """A market source whose daily bars have passed the gate (`check_bars`) before anyone
    reads them: the snapshot, the scoring prices and the minds' record alike."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name

    def daily_bars(self, tickers, start, end) -> pd.DataFrame:
        bars = check_bars(self.inner.daily_bars(tickers, start, end), self.name)
        bars = bars.drop(columns=["origin"], errors="ignore").reset_index(drop=True)
        numeric = [*PRICE_COLUMNS, "volume"]
        bars[numeric] = bars[numeric].astype(float)
        return bars

    def __getattr__(self, name):
        if name == "intraday_bars" and hasattr(self.inner, name):
            return self._intraday_bars
        return getattr(self.inner, name)

    def _intraday_bars(self, tickers, start, end) -> pd.DataFrame:
        """Intraday bars, read and checked by the source (numbers, positive prices, ordered
        stamps), and here: high and low bound open and close, and no bar moved beyond what
        its instrument plausibly can (`intraday_bar_problems`)."""
        bars = self.inner.intraday_bars(tickers, start, end)
        problems = intraday_bar_problems(bars)
        if problems:
            raise BadMarketData(f"{self.name} (intraday bars)", problems)
        return bars


def intraday_bar_problems(bars: pd.DataFrame) -> list[BarProblem]:
    """Every problem of a frame of intraday bars (ticker, bar_start, open, high, low, close and,
    from a file, file and line): high and low that do not bound open and close; a close that
    moved from the previous bar's beyond the instrument's bound for one bar (MAX_BAR_MOVE); a
    price that strays from its session's median beyond the bound of a whole session
    (MAX_SESSION_MOVE). A single bar at ten times the price trips both."""
    if not len(bars):
        return []
    tickers = bars["ticker"].to_numpy()
    starts = bars["bar_start"].to_numpy()
    ordered = (tickers[1:] > tickers[:-1]) | (
        (tickers[1:] == tickers[:-1]) & (starts[1:] > starts[:-1])
    )
    if not ordered.all():  # the sources serve them sorted; sorting a year again costs 0.07 s
        bars = bars.sort_values(["ticker", "bar_start"], kind="stable")
        tickers = bars["ticker"].to_numpy()
    o, h, low, c = (bars[k].to_numpy(dtype=float) for k in PRICE_COLUMNS)
    codes, names = pd.factorize(tickers)
    kinds = [TICKER_KIND.get(t) for t in names]
    bar_bound = np.array(
        [MAX_BAR_MOVE.get(k, max(MAX_BAR_MOVE.values())) for k in kinds], dtype=float
    )[codes]
    session_bound = np.array(
        [MAX_SESSION_MOVE.get(k, max(MAX_SESSION_MOVE.values())) for k in kinds], dtype=float
    )[codes]
    found: list[BarProblem] = []

    def add(mask: np.ndarray, text) -> None:
        # Texts and origins made for the flagged bars only (a year is a million bars).
        for i in np.flatnonzero(mask):
            row = bars.iloc[i]
            origin = f"{row['file']} line {row['line']}" if "file" in bars.columns else ""
            found.append(
                BarProblem(tickers[i], f"{row['bar_start']:%Y-%m-%d %H:%M}", text(i), origin)
            )

    high_short, low_over = unbounded(o, h, low, c)
    add(high_short | low_over, lambda i: "high/low do not bound open and close")

    same = np.r_[False, tickers[1:] == tickers[:-1]]
    previous = np.r_[np.nan, c[:-1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        move = np.where(same, c / previous - 1, 0.0)
    add(
        np.abs(move) > bar_bound,
        lambda i: (
            f"close {c[i]:.4f} moved {100 * move[i]:.1f}% from the previous bar, beyond "
            f"the bound of ±{100 * bar_bound[i]:.0f}% a bar for this instrument"
        ),
    )
    day = bars["bar_start"].to_numpy().astype("datetime64[D]")
    median = pd.Series(c).groupby([tickers, day]).transform("median").to_numpy()
    worst = np.max(np.abs(np.stack([h, low, c]) / median - 1), axis=0)
    add(
        worst > session_bound,
        lambda i: (
            f"a price {100 * worst[i]:.1f}% away from the session's median close "
            f"{median[i]:.4f}, beyond the bound of ±{100 * session_bound[i]:.0f}% for this "
            "instrument"
        ),
    )
    return sorted(found, key=lambda p: (p.ticker, p.session, p.problem))


def gated(source) -> GatedMarket:
    """`source` behind the gate (as it is, if it already is)."""
    return source if isinstance(source, GatedMarket) else GatedMarket(source)
