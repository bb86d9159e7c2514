"""News items: the table shape, and parsing of yfinance's `Ticker.news` payloads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from .calendar import to_naive_ny

NEWS_COLUMNS = ("published_at", "source", "title", "tickers", "url")


def empty_news() -> pd.DataFrame:
    """A typed, empty news table (offline sources publish no news)."""
    return pd.DataFrame(
        {
            "published_at": pd.Series([], dtype="datetime64[ns]"),
            "source": pd.Series([], dtype="object"),
            "title": pd.Series([], dtype="object"),
            "tickers": pd.Series([], dtype="object"),
            "url": pd.Series([], dtype="object"),
        }
    )


def _item_fields(item: Mapping) -> tuple[pd.Timestamp | None, str, str, str]:
    """(published_at, publisher, title, url) from either yfinance news layout.

    yfinance < 0.2.50 returned flat dicts (`title`, `publisher`, `providerPublishTime` in epoch
    seconds, `link`); newer versions nest the story under `content` with an ISO `pubDate`.
    """
    content = item.get("content")
    if isinstance(content, Mapping):
        published = content.get("pubDate") or content.get("displayTime")
        ts = pd.Timestamp(published) if published else None
        provider = content.get("provider") or {}
        url = (content.get("canonicalUrl") or {}).get("url") or (
            content.get("clickThroughUrl") or {}
        ).get("url", "")
        return ts, provider.get("displayName", ""), content.get("title", ""), url or ""
    epoch = item.get("providerPublishTime")
    ts = pd.Timestamp(int(epoch), unit="s", tz="UTC") if epoch is not None else None
    return ts, item.get("publisher", ""), item.get("title", ""), item.get("link", "")


def parse_yfinance_news(items_by_ticker: Mapping[str, Iterable[Mapping]]) -> pd.DataFrame:
    """One row per story (deduplicated by title), tickers joined by comma, times as naive NY."""
    rows: dict[str, dict] = {}
    for ticker, items in items_by_ticker.items():
        for item in items or []:
            ts, publisher, title, url = _item_fields(item)
            if ts is None or not title:
                continue
            row = rows.setdefault(
                title,
                {
                    "published_at": to_naive_ny(ts),
                    "source": publisher or "yahoo",
                    "title": title,
                    "tickers": set(),
                    "url": url,
                },
            )
            row["tickers"].add(ticker)
    if not rows:
        return empty_news()
    frame = pd.DataFrame(list(rows.values()))
    frame["tickers"] = frame["tickers"].map(lambda s: ",".join(sorted(s)))
    frame["published_at"] = pd.to_datetime(frame["published_at"]).astype("datetime64[ns]")
    return frame.sort_values(["published_at", "title"]).reset_index(drop=True)[list(NEWS_COLUMNS)]
