"""The news feeds file (`news_feeds.yaml` beside this module, or WORKSHOP_NEWS_FEEDS): read and
checked when the settings load, so it imports nothing heavy (`news_feeds` fetches them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("news_feeds.yaml")


class FeedsFileError(ValueError):
    """The feeds file is wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class Feed:
    name: str  # the source a headline shows
    url: str = ""  # an RSS or Atom feed
    query: str = ""  # or a Yahoo Finance search
    tickers: tuple[str, ...] = ()  # what the feed is about (an EDGAR company feed)


@dataclass(frozen=True)
class Feeds:
    feeds: tuple[Feed, ...]
    user_agent: str  # SEC EDGAR refuses requests without a contact


def load_feeds(path: str | Path) -> Feeds:
    """The feeds of a YAML file: `user_agent`, and `feeds`, each with `name` and either `url`
    (RSS or Atom) or `query` (Yahoo search), optionally `tickers`."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FeedsFileError(f"{path}: cannot be read as YAML ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("feeds"), list):
        raise FeedsFileError(f"{path}: needs a `feeds:` list")
    feeds = []
    for i, entry in enumerate(doc["feeds"], start=1):
        where = f"{path}: feed {i}"
        if not isinstance(entry, dict) or not str(entry.get("name", "")).strip():
            raise FeedsFileError(f"{where} needs a name")
        url, query = str(entry.get("url", "")).strip(), str(entry.get("query", "")).strip()
        if bool(url) == bool(query):
            raise FeedsFileError(f"{where} ({entry['name']}) needs exactly one of url and query")
        if url and not url.startswith(("http://", "https://")):
            raise FeedsFileError(f"{where} ({entry['name']}): url {url!r} is not http(s)")
        tickers = entry.get("tickers") or []
        if isinstance(tickers, str):
            tickers = [tickers]
        feeds.append(Feed(str(entry["name"]).strip(), url, query, tuple(map(str, tickers))))
    agent = str(doc.get("user_agent", "")).strip()
    if not agent:
        raise FeedsFileError(f"{path}: needs a user_agent (SEC EDGAR refuses requests without one)")
    return Feeds(tuple(feeds), agent)
