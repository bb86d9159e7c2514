"""The live news feeds: RSS and Atom (the Fed, SEC EDGAR, a business wire) through `feedparser`,
and Yahoo's market-wide search news, configured in one YAML file (`news_feeds.yaml` beside this
module is the default; WORKSHOP_NEWS_FEEDS names another, or `none`).

News never fails a cycle: a feed that times out, is rate-limited or fails is retried with
backoff, then skipped with a note; one that returns junk (malformed XML, not a feed) or nothing
is skipped with a note; nothing of a feed is stored unless the whole of it parsed. An entry
without a title or a time is left out (and counted in the note).

Every feed is bounded, so no server can hold a cycle or crowd the others out: the whole fetch
has a deadline (a server that sends a byte every few seconds never times a single read out),
the body a byte cap, and a feed's items a cap (its newest kept, the rest counted in the note);
a cycle's view takes at most half its items from one feed (`news_archive.visible`).
"""

from __future__ import annotations

import html
import re
import time as _time
from collections.abc import Callable, Sequence

import pandas as pd

from .news import empty_news, finish, item_id, parse_yfinance_news, tag_tickers
from .news_feed_config import Feed, Feeds

RETRY_WAITS_S = (1.0, 3.0)  # then skipped
TIMEOUT_S = 10.0  # one read
DEADLINE_S = 30.0  # the whole fetch of one feed
MAX_BYTES = 5_000_000  # a feed's body (the Fed's and EDGAR's are 20-200 KB)
MAX_ITEMS = 200  # a feed's newest items kept per fetch
# feedparser flags these on valid feeds (a charset declared one way and served another).
HARMLESS = ("CharacterEncodingOverride", "NonXMLContentType")


class FeedTooLarge(Exception):
    """A feed's body passed the byte cap: skipped (a retry would fetch it again)."""


class FeedTooSlow(Exception):
    """A feed's fetch passed its deadline: skipped."""


def http_get(
    url: str, user_agent: str, deadline_s: float | None = None, max_bytes: int | None = None
) -> bytes:
    """The body of `url`, read piece by piece against a deadline for the whole fetch and a cap
    on its size (default DEADLINE_S and MAX_BYTES; raises on a timeout, an HTTP error, or
    either bound)."""
    import urllib.request

    deadline_s = DEADLINE_S if deadline_s is None else deadline_s
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    start = _time.monotonic()
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - http(s)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FeedTooLarge(f"{int(declared):,} bytes declared, over the cap of {max_bytes:,}")
        parts, size = [], 0
        while True:
            if _time.monotonic() - start > deadline_s:
                raise FeedTooSlow(f"not fetched whole within {deadline_s:.0f} s")
            # read1: what one receive brings, so a trickle cannot hold a read for ever.
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > max_bytes:
                raise FeedTooLarge(f"over the cap of {max_bytes:,} bytes")
            parts.append(chunk)


def _transient(exc: Exception) -> bool:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return exc.code == 429 or exc.code >= 500
    return isinstance(exc, (urllib.error.URLError, TimeoutError, OSError))


def _why(exc: Exception) -> str:
    import urllib.error

    if isinstance(exc, (FeedTooLarge, FeedTooSlow)):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}" + (" (rate-limited)" if exc.code == 429 else "")
    reason = getattr(exc, "reason", exc)
    return f"{type(reason).__name__}: {reason}"[:160]


def _plain(text: str) -> str:
    """Feed HTML as one line of text (tags dropped, entities read)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text or "")).split())


def parse_feed(feed: Feed, data: bytes, fetched_at) -> tuple[pd.DataFrame, str | None]:
    """A fetched RSS or Atom document's items, or none and why (the whole feed or nothing)."""
    import feedparser

    parsed = feedparser.parse(data)
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and type(problem).__name__ not in HARMLESS:
        return empty_news(), f"{feed.name}: not a valid feed ({type(problem).__name__}); skipped"
    if not parsed.get("version"):
        return empty_news(), f"{feed.name}: not a valid feed (no RSS or Atom in it); skipped"
    if not parsed.entries:
        return empty_news(), f"{feed.name}: the feed holds no items; nothing added"
    fetched = pd.Timestamp(fetched_at)
    rows, incomplete, dropped = [], 0, 0
    for entry in parsed.entries:
        title = _plain(entry.get("title", ""))
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        if not title or stamp is None:
            incomplete += 1
            continue
        published = pd.Timestamp(_time.strftime("%Y-%m-%dT%H:%M:%S", stamp), tz="UTC")
        summary = _plain(entry.get("summary", ""))
        rows.append(
            {
                "item_id": item_id(feed.name, entry.get("id"), entry.get("link"), title),
                "published_at": published.tz_convert("America/New_York").tz_localize(None),
                "fetched_at": fetched,
                "source": feed.name,
                "feed": feed.url,
                "title": title,
                "summary": summary[:500],
                "url": entry.get("link", ""),
                "tickers": tag_tickers(f"{title} {summary}", feed.tickers),
            }
        )
    if len(rows) > MAX_ITEMS:  # the newest kept: a flood cannot fill the archive
        rows.sort(key=lambda r: r["published_at"], reverse=True)
        dropped, rows = len(rows) - MAX_ITEMS, rows[:MAX_ITEMS]
    notes = [
        f"{incomplete} item(s) without a title or a time left out" if incomplete else "",
        f"{dropped} older item(s) past the cap of {MAX_ITEMS} a fetch left out" if dropped else "",
    ]
    note = "; ".join(n for n in notes if n)
    return finish(pd.DataFrame(rows)) if rows else empty_news(), (
        f"{feed.name}: {note}" if note else None
    )


def _yf_search_news(query: str) -> list:
    import yfinance as yf

    return yf.Search(query, news_count=10).news or []


def fetch_all(
    feeds: Feeds,
    fetched_at,
    get: Callable[[str, str], bytes] | None = None,
    search: Callable[[str], list] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Every feed's items and the notes on the feeds skipped or trimmed (`get`, `search` and
    `sleep` default to HTTP, yfinance's search and time.sleep, looked up when called)."""
    get = get or http_get
    search = search or _yf_search_news
    sleep = sleep or _time.sleep
    from urllib.parse import urlsplit

    frames, notes = [], []
    unreachable: set[str] = set()  # hosts that failed every try: their other feeds are skipped
    for feed in feeds.feeds:
        host = urlsplit(feed.url).netloc if feed.url else "yahoo search"
        if host in unreachable:
            notes.append(f"{feed.name}: {host} unreachable earlier in this run; skipped")
            continue
        for attempt, wait in enumerate((*RETRY_WAITS_S, None)):
            try:
                if feed.query:
                    items = search(feed.query)
                    frame, note = (
                        parse_yfinance_news({feed.query: items}, fetched_at, feed="yahoo search"),
                        None,
                    )
                    frame["source"] = frame["source"].where(frame["source"] != "", feed.name)
                else:
                    frame, note = parse_feed(feed, get(feed.url, feeds.user_agent), fetched_at)
                frames.append(frame)
                if note:
                    notes.append(note)
                break
            except Exception as exc:  # noqa: BLE001 - news never fails a cycle
                if wait is not None and _transient(exc):
                    sleep(wait)
                    continue
                tries = f" after {attempt + 1} tries" if attempt else ""
                notes.append(f"{feed.name}: {_why(exc)}{tries}; skipped")
                if _transient(exc):
                    unreachable.add(host)
                break
    frames = [f for f in frames if len(f)]
    return (pd.concat(frames, ignore_index=True) if frames else empty_news()), notes


def yahoo_items(
    tickers: Sequence[str], fetch: Callable[[str], list], symbol: Callable[[str], str], fetched_at
) -> tuple[pd.DataFrame, list[str]]:
    """Yahoo's latest stories for each ticker (`Ticker.news`); a ticker whose news cannot be
    fetched is skipped with a note."""
    items, notes = {}, []
    for t in tickers:
        try:
            items[t] = fetch(symbol(t))
        except Exception as exc:  # noqa: BLE001 - news never fails a cycle
            notes.append(f"Yahoo news for {t}: {type(exc).__name__}: {exc}"[:200] + "; skipped")
    return parse_yfinance_news(items, fetched_at), notes
