"""News items: the table shape, the honest clock, ticker tags, and yfinance's two payloads.

An item is seen from `visible_from`: the latest of its publication, any later time its feed
stamps on it (Yahoo's `displayTime` can be days after `pubDate`) and its first fetch. A cycle
may read it from then on, never before (`news_archive`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

import pandas as pd

from .calendar import to_naive_ny
from .universe import TICKERS

NEWS_COLUMNS = (
    "item_id",
    "published_at",
    "fetched_at",
    "visible_from",
    "source",
    "feed",
    "title",
    "summary",
    "url",
    "tickers",
)
TIME_COLUMNS = ("published_at", "fetched_at", "visible_from")
MAX_TITLE, MAX_SUMMARY = 300, 500
# Names a headline uses for the universe's tickers (symbols are matched as words too).
NAMES = {
    "AAPL": ("Apple",),
    "MSFT": ("Microsoft",),
    "NVDA": ("Nvidia", "NVIDIA"),
    "AMZN": ("Amazon",),
    "GOOGL": ("Alphabet", "Google"),
    "META": ("Meta Platforms", "Facebook"),
    "TSLA": ("Tesla",),
    "SPY": ("S&P 500",),
    "QQQ": ("Nasdaq 100", "Nasdaq-100"),
    "IWM": ("Russell 2000", "small caps", "small-cap"),
    "DIA": ("Dow Jones", "the Dow"),
    "GLD": ("gold",),
    "TLT": ("Treasuries", "Treasury bonds"),
    "XLE": ("oil",),
}
_SYMBOL = re.compile(r"(?<![A-Za-z])\$?([A-Z]{2,5})(?![a-z])")
# Every name as a word, case aside, in one pattern whose group says the ticker (one pass a
# headline: a replay reads 47,000 of them).
_NAMED = re.compile(
    r"(?<!\w)(?:"
    + "|".join(
        f"(?P<{ticker}>" + "|".join(re.escape(n) for n in names) + ")"
        for ticker, names in NAMES.items()
    )
    + r")(?!\w)",
    re.I,
)


def empty_news() -> pd.DataFrame:
    """A typed, empty news table."""
    return pd.DataFrame(
        {
            c: pd.Series([], dtype="datetime64[ns]" if c in TIME_COLUMNS else "object")
            for c in NEWS_COLUMNS
        }
    )


def tag_tickers(text: str, given: Iterable[str] = ()) -> str:
    """The universe's tickers an item is about: those its feed named, its symbols, and the
    company and index names it uses; comma-joined, sorted."""
    found = {t for t in given if t in TICKERS}
    found |= {m for m in _SYMBOL.findall(text or "") if m in TICKERS and m != "VIX"}
    found |= {m.lastgroup for m in _NAMED.finditer(text or "")}
    return ",".join(sorted(found))


# Query parameters that track a reader, not name a story (Yahoo, Google Analytics, ad tags).
TRACKING = re.compile(
    r"^(utm_.*|cid|ncid|guccounter|guce_.*|\.tsrc|soc_src|soc_trk|yptr|mod|ref|fbclid|gclid|"
    r"cmpid|src|siteid|taid|mc_cid|mc_eid|ito|sr_share|feedtype|partner|smid)$",
    re.I,
)


def canonical_url(url: str | None) -> str:
    """A story's URL without its tracking parameters, fragment or trailing slash. The rest of
    the query stays: it names the story in a redirect link (Finnhub's `api/news?id=…`,
    YouTube's `watch?v=…`), where dropping it made 36,856 stories one."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    text = (url or "").strip()
    if "?" not in text and "#" not in text:
        return text.rstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?")[0].rstrip("/")
    kept = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING.match(k)
    )
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(kept), "")).rstrip("/")


def item_id(feed: str, guid: str | None, url: str | None, title: str) -> str:
    """A stable id: the feed's guid, else the canonical URL, else the title (hashed)."""
    basis = guid or canonical_url(url) or f"{feed}:{title.strip().lower()}"
    return hashlib.sha256(basis.encode()).hexdigest()[:24]


def finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed, with `visible_from` (the latest of the item's times), sorted by it."""
    if frame.empty:
        return empty_news()
    out = frame.copy()
    for col in ("published_at", "fetched_at", "display_at"):
        if col in out:
            out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
    times = [c for c in ("published_at", "display_at", "fetched_at") if c in out]
    out["visible_from"] = out[times].max(axis=1).astype("datetime64[ns]")
    for col in ("summary", "url", "tickers", "feed"):
        if col not in out:
            out[col] = ""
        out[col] = out[col].fillna("").astype(str)
    # A feed's text is untrusted: one line each, of a length a headline and a summary have.
    for col, most in (("title", MAX_TITLE), ("summary", MAX_SUMMARY)):
        out[col] = out[col].map(lambda t, n=most: " ".join(str(t).split())[:n])
    return out.sort_values(["visible_from", "item_id"]).reset_index(drop=True)[list(NEWS_COLUMNS)]


def _item_fields(item: Mapping) -> dict | None:
    """One Yahoo story in either layout, or None when it has no title or time.

    `Ticker.news` (yfinance >= 0.2.50) nests it under `content` (ISO `pubDate`, `displayTime`,
    `provider.displayName`, `canonicalUrl.url`, `summary`); `Search(...).news` is flat
    (`providerPublishTime` in epoch seconds, `publisher`, `link`, `relatedTickers`, `uuid`)."""
    content = item.get("content")
    if isinstance(content, Mapping):
        published = content.get("pubDate") or content.get("displayTime")
        shown = content.get("displayTime")
        url = (content.get("canonicalUrl") or {}).get("url") or (
            content.get("clickThroughUrl") or {}
        ).get("url", "")
        fields = {
            "guid": item.get("id") or content.get("id"),
            "published": pd.Timestamp(published) if published else None,
            "shown": pd.Timestamp(shown) if shown else None,
            "source": (content.get("provider") or {}).get("displayName", ""),
            "title": content.get("title", ""),
            "summary": content.get("summary") or content.get("description") or "",
            "url": url or "",
            "related": [],
        }
    else:
        epoch = item.get("providerPublishTime")
        fields = {
            "guid": item.get("uuid"),
            "published": pd.Timestamp(int(epoch), unit="s", tz="UTC") if epoch else None,
            "shown": None,
            "source": item.get("publisher", ""),
            "title": item.get("title", ""),
            "summary": "",
            "url": item.get("link", ""),
            "related": list(item.get("relatedTickers") or []),
        }
    if fields["published"] is None or not str(fields["title"]).strip():
        return None
    return fields


def parse_yfinance_news(
    items_by_query: Mapping[str, Iterable[Mapping]], fetched_at, feed: str = "yahoo"
) -> pd.DataFrame:
    """One row per story (the same story under several tickers or queries is one item, tagged
    with all of them); `fetched_at` is when the payloads were fetched."""
    rows: dict[str, dict] = {}
    fetched = to_naive_ny(pd.Timestamp(fetched_at))
    for query, items in items_by_query.items():
        for item in items or []:
            fields = _item_fields(item) if isinstance(item, Mapping) else None
            if fields is None:
                continue
            # One story under several tickers or queries, in either layout: one item.
            same = canonical_url(fields["url"]) or fields["title"].strip().lower()
            row = rows.setdefault(
                same,
                {
                    "item_id": item_id(feed, fields["guid"], fields["url"], fields["title"]),
                    "published_at": to_naive_ny(fields["published"]),
                    "display_at": to_naive_ny(fields["shown"]) if fields["shown"] else pd.NaT,
                    "fetched_at": fetched,
                    "source": fields["source"] or "Yahoo Finance",
                    "feed": feed,
                    "title": fields["title"].strip(),
                    "summary": fields["summary"].strip(),
                    "url": fields["url"],
                    "named": set(),
                },
            )
            row["named"] |= set(fields["related"]) | ({query} if query in TICKERS else set())
    if not rows:
        return empty_news()
    frame = pd.DataFrame(list(rows.values()))
    frame["tickers"] = [
        tag_tickers(f"{r.title} {r.summary}", r.named) for r in frame.itertuples(index=False)
    ]
    return finish(frame.drop(columns="named"))
