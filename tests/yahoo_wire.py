"""Yahoo's wire format for tests: the real yfinance code parses recorded chart responses.

`serve_recorded_charts` swaps yfinance's HTTP transport (`YfData.get`/`cache_get`) for one that
answers from `shared/data/fixtures/yahoo/` (real v8 chart bodies), so `yfinance.download` builds
its frames exactly as it does from Yahoo. Unknown symbols get Yahoo's real "Not Found" body.
"""

from __future__ import annotations

import json
from pathlib import Path

NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


class RecordedResponse:
    def __init__(self, body: dict, url: str, status: int = 200):
        self._body = body
        self.text = json.dumps(body)
        self.status_code = status
        self.url = url
        self.ok = status < 400

    def json(self) -> dict:
        return self._body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code} for {self.url}")


def recorded_bodies(fixtures: Path) -> dict[str, dict]:
    bodies: dict[str, dict] = {}
    for path in sorted(fixtures.glob("*.json")):
        record = json.loads(path.read_text())
        symbol = record["request"]["url"].split("/chart/")[1].split("?")[0]
        body = record["response"]["bodyJson"]
        if body["chart"]["result"] and "timestamp" in body["chart"]["result"][0]:
            bodies.setdefault(symbol, body)
    return bodies


def serve_recorded_charts(monkeypatch, fixtures: Path, tmp_path: Path) -> list[str]:
    """Patch yfinance's transport; returns the list of requested URLs (to count calls)."""
    import yfinance as yf
    from yfinance.data import YfData

    yf.set_tz_cache_location(str(tmp_path / "yf-tz-cache"))
    bodies = recorded_bodies(fixtures)
    calls: list[str] = []

    def get(self, url, params=None, timeout=30, **kwargs):
        calls.append(url)
        symbol = url.rsplit("/", 1)[-1]
        if symbol in bodies:
            return RecordedResponse(bodies[symbol], url)
        return RecordedResponse(NOT_FOUND, url, status=404)

    monkeypatch.setattr(YfData, "get", get)
    monkeypatch.setattr(YfData, "cache_get", get)
    return calls
