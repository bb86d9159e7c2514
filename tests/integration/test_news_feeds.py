"""The live news path on real recorded payloads: Yahoo's two layouts, an RSS and an EDGAR Atom
feed served over HTTP on 127.0.0.1, and feeds that fail (rate limit, timeout, junk, empty)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.helpers import materialize, query
from workshop_dagster.market import news_feeds
from workshop_dagster.market.news_feed_config import load_feeds

FIXTURES = Path(__file__).parent.parent / "fixtures" / "news"
NESTED = json.loads((FIXTURES / "yahoo_ticker_news_nested.json").read_text())
FLAT = json.loads((FIXTURES / "yahoo_search_news_flat.json").read_text())
T = pd.Timestamp


class _Feeds(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def log_message(self, *args):
        return

    def do_GET(self):
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        bodies = {
            "/fed.rss": (FIXTURES / "fed_press_monetary.rss").read_bytes(),
            "/edgar.atom": (FIXTURES / "edgar_getcompany_aapl.atom").read_bytes(),
            "/junk": b"not xml at all {{{ <rss",
            "/empty": b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
        }
        if self.path == "/limited":
            self.send_response(429)
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(1.5)
        if self.path == "/trickle":  # a valid feed, one byte every 0.2 s: no read times out
            return self._trickle((FIXTURES / "fed_press_monetary.rss").read_bytes())
        if self.path in ("/huge", "/huge-undeclared"):
            return self._huge(declared=self.path == "/huge")
        if self.path == "/flood":
            bodies["/flood"] = _flood_rss(500)
        body = bodies.get(self.path, b"<html><body>moved</body></html>")
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the timeout case)

    def _trickle(self, body: bytes) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up

    def _huge(self, declared: bool) -> None:
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        try:
            self.send_response(200)
            if declared:
                self.send_header("Content-Length", str(len(chunk) * 100))
            self.end_headers()
            for _ in range(100):
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _flood_rss(n: int) -> bytes:
    items = "".join(
        f"<item><title>Flood item {i}</title><link>http://flood.example/{i}</link>"
        f"<pubDate>Wed, 25 Nov 2026 {i // 60 % 24:02d}:{i % 60:02d}:00 GMT</pubDate></item>"
        for i in range(n)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>flood</title>{items}'
        "</channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def feed_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _feeds_file(tmp_path: Path, base: str, paths: list[str]) -> Path:
    names = {"/fed.rss": "Federal Reserve", "/edgar.atom": "SEC EDGAR"}
    lines = ['user_agent: "Workshop tests test@example.com"', "feeds:"]
    for p in paths:
        extra = ", tickers: AAPL" if p == "/edgar.atom" else ""
        lines.append(f'  - {{name: "{names.get(p, p.strip("/"))}", url: "{base}{p}"{extra}}}')
    lines.append("  - {name: Yahoo Finance, query: stock market}")
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setattr(news_feeds, "TIMEOUT_S", 0.5)
    monkeypatch.setattr(news_feeds, "RETRY_WAITS_S", (0.01, 0.01))


def test_real_payloads_parse_through_the_real_parsers(tmp_path, feed_server, fast_retries):
    feeds = load_feeds(_feeds_file(tmp_path, feed_server, ["/fed.rss", "/edgar.atom"]))
    items, notes = news_feeds.fetch_all(feeds, T("2026-11-25 19:40"), search=lambda q: FLAT)
    assert notes == []
    fed = items[items["source"] == "Federal Reserve"].sort_values("published_at")
    # "Wed, 29 Jul 2026 18:00:00 GMT" is 14:00 in New York.
    assert fed["published_at"].tolist() == [T("2026-07-08 14:00"), T("2026-07-29 14:00")]
    assert fed["title"].iloc[-1] == "Federal Reserve issues FOMC statement"
    edgar = items[items["source"] == "SEC EDGAR"].sort_values("published_at")
    assert edgar["title"].iloc[-1].startswith("10-K - Annual report")
    assert edgar["published_at"].iloc[-1] == T("2025-10-31 06:01:26")
    assert (edgar["tickers"] == "AAPL").all() and "Filed: 2025-10-31" in edgar["summary"].iloc[-1]
    search = items[items["feed"] == "yahoo search"]
    assert set(search["source"]) == {"Reuters", "MarketWatch"}
    assert "TSLA" in search["tickers"].iloc[0]  # tagged from "Tesla"
    # Every item counts from its fetch, the latest of its times.
    assert (items["visible_from"] == T("2026-11-25 19:40")).all()


def test_yahoo_ticker_news_in_the_nested_layout():
    from workshop_dagster.market.news import parse_yfinance_news

    items = parse_yfinance_news({"SPY": NESTED}, T("2026-11-25 19:40"))
    assert len(items) == 2 and set(items["source"]) == {"TipRanks", "GuruFocus.com"}
    trade = items[items["source"] == "TipRanks"].iloc[0]
    assert trade["published_at"] == T("2025-05-09 12:01:58")  # 16:01:58Z in New York (EDT)
    assert trade["url"].startswith("https://finance.yahoo.com/news/trump-announces")
    assert "SPY" in trade["tickers"]


def test_failing_feeds_are_skipped_with_their_reason(tmp_path, feed_server, fast_retries):
    paths = ["/junk", "/empty", "/html-page", "/fed.rss", "/slow", "/limited"]
    feeds = load_feeds(_feeds_file(tmp_path, feed_server, paths))
    _Feeds.hits.clear()

    def down(query):
        raise ConnectionError("Yahoo unreachable")

    items, notes = news_feeds.fetch_all(feeds, T("2026-11-25 19:40"), search=down)
    text = " | ".join(notes)
    assert "junk: not a valid feed" in text and "html-page: not a valid feed" in text
    assert "empty: the feed holds no items" in text
    assert "slow: " in text and "timed out" in text.lower() and "after 3 tries" in text
    # A host that timed out every try is not asked again in the run.
    assert "limited: 127.0.0.1" in text and "unreachable earlier in this run" in text
    assert "/limited" not in _Feeds.hits
    assert "Yahoo Finance: ConnectionError: Yahoo unreachable after 3 tries; skipped" in text
    # The good feed's items are all there, and nothing of the bad ones.
    assert set(items["source"]) == {"Federal Reserve"} and len(items) == 2


def test_a_slow_a_huge_and_a_flooding_feed_are_bounded_and_named(
    tmp_path, feed_server, fast_retries, monkeypatch
):
    monkeypatch.setattr(news_feeds, "DEADLINE_S", 1.0)
    monkeypatch.setattr(news_feeds, "MAX_BYTES", 500_000)
    paths = ["/trickle", "/huge", "/huge-undeclared", "/flood", "/fed.rss"]
    feeds = load_feeds(_feeds_file(tmp_path, feed_server, paths))
    started = time.monotonic()
    items, notes = news_feeds.fetch_all(feeds, T("2026-11-25 23:40"), search=lambda q: FLAT)
    # Bounded by the deadline, not by the trickle (a byte every 0.2 s: ~10 minutes whole).
    assert time.monotonic() - started < 10
    text = " | ".join(notes)
    assert "trickle: not fetched whole within 1 s; skipped" in text
    assert "huge: 6,500,900 bytes declared, over the cap of 500,000; skipped" in text
    assert "huge-undeclared: over the cap of 500,000 bytes; skipped" in text
    assert "flood: 300 older item(s) past the cap of 200 a fetch left out" in text
    flood = items[items["source"] == "flood"]
    assert len(flood) == 200 and flood["title"].str.contains("Flood item 499").any()
    assert "Federal Reserve" in set(items["source"])  # the good feed, beside the flood


def test_a_rate_limited_feed_is_retried_with_backoff_then_skipped(
    tmp_path, feed_server, fast_retries
):
    feeds = load_feeds(_feeds_file(tmp_path, feed_server, ["/limited"]))
    _Feeds.hits.clear()
    waits = []
    items, notes = news_feeds.fetch_all(
        feeds, T("2026-11-25 19:40"), search=lambda q: [], sleep=waits.append
    )
    assert notes == ["limited: HTTP 429 (rate-limited) after 3 tries; skipped"]
    assert _Feeds.hits["/limited"] == 3 and waits == [0.01, 0.01]
    assert items.empty


def test_a_live_cycle_archives_news_and_a_rerun_reads_what_it_read(
    workshop_env, tmp_path, feed_server, fast_retries, monkeypatch
):
    from workshop_dagster.market import calendar

    feeds = _feeds_file(tmp_path, feed_server, ["/fed.rss", "/edgar.atom", "/junk", "/limited"])
    monkeypatch.setenv("WORKSHOP_NEWS_FEEDS", str(feeds))
    monkeypatch.setattr(
        "workshop_dagster.market.yahoo._yf_news", lambda s: NESTED if s == "SPY" else []
    )
    monkeypatch.setattr(news_feeds, "_yf_search_news", lambda q: FLAT)
    run = {}

    def at(now: str, key: str):
        monkeypatch.setattr(calendar, "now_ny", lambda: T(now))
        result = materialize(key, market="yfinance", selection=["news_items"])
        assert result.success, "news never fails a cycle"
        mat = result.asset_materializations_for_node("news_items")[-1]
        run[key] = mat.metadata
        return query(f"select * from news_items where cycle_key = '{key}' order by item_id")

    # Fetched at 19:40: after the 19:15 cycle, so not in it (first fetch counts).
    assert at("2026-11-24 19:40", "2026-11-24-19:15").empty
    skipped = run["2026-11-24-19:15"]["feeds_skipped"].value
    assert any("HTTP 429" in s for s in skipped) and any("not a valid feed" in s for s in skipped)
    archive = query("select * from news_archive")
    assert len(archive) == 2 + 2 + 2 + 2  # Yahoo's two layouts, the Fed, EDGAR; none of the bad
    # The next morning's cycle reads them; fetching again adds nothing.
    seen = at("2026-11-25 09:20", "2026-11-25-09:15")
    assert len(seen) == len(archive) and run["2026-11-25-09:15"]["added_to_archive"].value == 0
    # Re-running the evening cycle later still reads what it read: nothing.
    assert at("2026-11-25 12:30", "2026-11-24-19:15").empty
    assert query("select count(*) n from news_archive")["n"][0] == len(archive)
