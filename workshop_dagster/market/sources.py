"""Choose a market source from its spec: `sim`, `csv:PATH` or `yfinance`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the resources name this module when the code location loads
    import pandas as pd


class MarketSource(Protocol):
    """What every source provides: raw histories; `asof` decides what a cycle may see."""

    name: str

    def daily_bars(self, tickers, start, end) -> pd.DataFrame: ...

    def rate_observations(self, codes, start, end) -> pd.DataFrame: ...

    def news(self, tickers, start, end) -> pd.DataFrame: ...

    def releases(self, start, end) -> pd.DataFrame: ...


def csv_folder(spec: str, base_dir: Path | None = None) -> Path:
    """The folder of a `csv:PATH` spec; a relative PATH resolves against `base_dir`."""
    path = Path(spec.strip()[4:].strip()).expanduser()
    return (base_dir / path).resolve() if not path.is_absolute() and base_dir else path


def open_source(
    spec: str,
    *,
    seed: int = 7,
    cache_dir: Path | None = None,
    base_dir: Path | None = None,
    news_feeds: str = "",
) -> MarketSource:
    """A source from a WORKSHOP_MARKET spec; relative csv paths resolve against `base_dir`.
    Its daily bars pass the market data gate (`quality.GatedMarket`) before anyone reads them."""
    from .quality import gated

    return gated(
        _open_raw(spec, seed=seed, cache_dir=cache_dir, base_dir=base_dir, news_feeds=news_feeds)
    )


def _open_raw(
    spec: str,
    *,
    seed: int = 7,
    cache_dir: Path | None = None,
    base_dir: Path | None = None,
    news_feeds: str = "",
) -> MarketSource:
    spec = spec.strip()
    if spec == "sim":
        from .simulator import SimulatedMarket

        return SimulatedMarket(seed)
    if spec.startswith("csv:"):
        from .csv_replay import CsvMarket

        return CsvMarket(csv_folder(spec, base_dir))
    if spec == "yfinance":
        from .yahoo import YahooMarket

        if cache_dir is None:
            raise ValueError("the yfinance source needs a cache directory")
        return YahooMarket(cache_dir, news_feeds=news_feeds)
    raise ValueError(f"unknown market source {spec!r}: use sim, csv:PATH or yfinance")
