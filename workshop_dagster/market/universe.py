"""The instruments Workshop watches, and the macro series it reads."""

from __future__ import annotations

INDEX_ETFS = ("SPY", "QQQ", "IWM", "DIA")
MEGA_CAPS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA")
SECTOR_ETFS = ("XLE", "XLF", "TLT", "GLD", "HYG")
VOLATILITY = ("VIX",)

TICKERS: tuple[str, ...] = INDEX_ETFS + MEGA_CAPS + SECTOR_ETFS + VOLATILITY

# Yahoo spells a few symbols differently from the names used in tables and memos.
YAHOO_SYMBOLS = {"VIX": "^VIX"}

# FRED series id -> the name used in `macro_rates`.
RATE_SERIES = {
    "DGS10": "ust_10y",
    "DGS2": "ust_2y",
    "T10Y2Y": "spread_10y_2y",
    "DFF": "fed_funds",
}

TICKER_KIND = {
    **{t: "index" for t in INDEX_ETFS},
    **{t: "mega_cap" for t in MEGA_CAPS},
    **{t: "sector" for t in SECTOR_ETFS},
    **{t: "volatility" for t in VOLATILITY},
}


def ticker_kind(ticker: str) -> str:
    """A ticker's kind (index, mega_cap, sector, volatility); a name outside the universe is
    read as an index."""
    return TICKER_KIND.get(ticker, "index")


def yahoo_symbol(ticker: str) -> str:
    return YAHOO_SYMBOLS.get(ticker, ticker)


def ticker_from_yahoo(symbol: str) -> str:
    for name, sym in YAHOO_SYMBOLS.items():
        if sym == symbol:
            return name
    return symbol
