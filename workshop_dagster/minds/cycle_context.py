"""What the minds and the synthesis are shown at a cycle, as typed objects.

`minds/context.build_context` makes one per cycle from the cycle's features, regime, rates, news
and the record as of the cycle; the minds, the prompts and the synthesis read its attributes.
Its JSON (`to_json`) is the document of what the cycle saw; the field names are its keys. It is
stored in two parts (`stored`): the record (track record, calibration, rules), the same for
every cycle of a record point, once in `context_records` under the hash of its JSON; the rest,
with that hash as `record_id`, in `mind_context.context_json`. `full_document` puts the two back
together (what the leak audit and the tests read): a year of 16 cycles a session stored the
same ~30 KB record sixteen times, 137 MB of 4,000 contexts.

The record tables (track record, calibration, rules) and the news stay rows (dicts with their
table's columns): they are the warehouse's rows, quoted as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

Row = dict[str, Any]
# The parts of a context that are the record as of its record point (stored once).
RECORD_PARTS = ("track_record", "calibration", "rules")


@dataclass(frozen=True)
class RegimeView:
    label: str  # risk_on | risk_off | rotation | neutral ...
    score: float
    drivers: str  # what moved the label, as the memo may quote it


@dataclass(frozen=True)
class MarketView:
    """The cycle's market, rounded as the memo quotes it (percent moves, levels)."""

    # ticker -> {last, change_1d_pct (the day's move: the regular session against the previous
    # regular close), change_5d_pct, rel_strength_5d}; with a quote of the minute also quote
    # (its time and bars), since_open_pct, since_prev_cycle_pct, range_position and, after hours
    # or before the open, extended_session and extended_move_pct; a ticker quoted at its last
    # close while others have intraday quotes carries stale: true.
    tickers: dict[str, Row]
    breadth: float
    size_spread_1d: float
    size_spread_5d: float
    mega_cap_1d: float
    mega_cap_5d: float
    vix_level: float
    vix_change_1d: float
    ust_10y: float
    ust_2y: float
    spread_10y_2y: float
    fed_funds: float
    ust_10y_change_5obs_bp: float | None = None


@dataclass(frozen=True)
class Lesson:
    cycle_key: str
    source: str
    known_at: str  # "%Y-%m-%d %H:%M", New York
    hit: bool
    score: float
    text: str


@dataclass(frozen=True)
class CycleContext:
    cycle_key: str
    cycle_ts: str  # "%Y-%m-%d %H:%M", New York
    ordinal: int
    regime: RegimeView
    market: MarketView
    # cite ("N1", newest first), item_id, published_at, visible_from, source, title, summary,
    # tickers: stored as (cite, item_id) only, the rest is the archive's (`full_document`)
    news: list[Row] = field(default_factory=list)
    track_record: list[Row] = field(default_factory=list)  # track_record rows as of the cycle
    lessons: list[Lesson] = field(default_factory=list)
    calibration: list[Row] = field(default_factory=list)
    rules: list[Row] = field(default_factory=list)  # active rules as of the cycle
    known_through: str | None = None  # the latest outcome known at the cycle
    # A variant's calibration priors (variants.yaml `calibration`: base, direction, bin,
    # regime pseudo-calls); None: the loop's own (minds/calibration.py). Left out of every
    # document when None, so the loop's prompts and stored contexts are what they were.
    priors: dict[str, int] | None = None
    # Every source's calls standing at the cycle (predictions/standing_calls.py): source,
    # subject, direction, timeframe, since (the cycle it was made), until (its horizon's end),
    # confidence. Left out of every document when empty, as `priors` is.
    standing: list[Row] = field(default_factory=list)
    # The scheduled releases due in the next week and out in the day before (name, at, status
    # "coming" or "out", source: market/release_calendar.py). Left out when empty.
    releases: list[Row] = field(default_factory=list)
    # What the news lacks, said rather than left silent ("no headline is public in the day
    # before this cycle"); None when there is news (and then left out).
    news_note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The document as JSON-ready values: the views and lessons as dicts, the rows as they
        are (shared, read-only; `asdict`'s deep copy of every row cost a year's loop seconds)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["regime"] = _shallow(self.regime)
        doc["market"] = _shallow(self.market)
        doc["lessons"] = [_shallow(lesson) for lesson in self.lessons]
        if doc["priors"] is None:
            del doc["priors"]
        for optional in ("standing", "releases", "news_note"):
            if not doc[optional]:
                del doc[optional]
        return doc

    def to_json(self) -> str:
        """The whole document of what the cycle saw (keys sorted); stored in two parts, see
        `stored` and `full_document`."""
        return json.dumps(self.as_dict(), sort_keys=True)

    def stored(self, record: tuple[str, str] | None = None) -> tuple[str, str, str]:
        """(the cycle's document with `record_id` in place of the record, the record's id, the
        record's document). `record`: the record's (id, document), when already made for the
        same rows."""
        doc = self.as_dict()
        for part in RECORD_PARTS:
            del doc[part]
        record_id, record_json = record or record_document(self)
        doc["record_id"] = record_id
        doc["news"] = [{"cite": n["cite"], "item_id": n["item_id"]} for n in self.news]
        return json.dumps(doc, sort_keys=True), record_id, record_json

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CycleContext:
        return cls(
            **{
                **doc,
                "regime": RegimeView(**doc["regime"]),
                "market": MarketView(**doc["market"]),
                "lessons": [Lesson(**lesson) for lesson in doc["lessons"]],
                "standing": doc.get("standing", []),
                "releases": doc.get("releases", []),
            }
        )


def _shallow(view) -> dict[str, Any]:
    """A flat dataclass's fields as a dict (its values shared)."""
    return {f.name: getattr(view, f.name) for f in fields(view)}


def record_document(context: CycleContext) -> tuple[str, str]:
    """(id, JSON) of the context's record: the id is the hash of the JSON, so the same record
    is one row however many cycles (or runs) show it."""
    text = json.dumps({k: getattr(context, k) for k in RECORD_PARTS}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32], text


def joined(
    doc: dict[str, Any],
    record_of: Callable[[str], dict[str, Any]],
    news: Mapping[str, Row] | None = None,
) -> dict[str, Any]:
    """A parsed stored context with its record (`record_of(record_id)`, which may hand the same
    parsed record to every cycle that names it) and its headlines put back."""
    refs = doc.get("news", [])
    if refs and "title" not in refs[0]:
        missing = [r["item_id"] for r in refs if news is None or r["item_id"] not in news]
        if missing:
            raise KeyError(
                f"context of cycle {doc.get('cycle_key')} refers to news items {missing[:3]}, "
                "which the news archive given does not hold"
            )
        doc["news"] = [{**_news_fields(news[r["item_id"]]), **r} for r in refs]
    record_id = doc.pop("record_id", None)
    if record_id is None:
        return doc
    return {**doc, **record_of(record_id)}


def full_document(
    context_json: str, records: Mapping[str, str], news: Mapping[str, Row] | None = None
) -> dict[str, Any]:
    """A stored context (`mind_context.context_json`) with its record put back from
    `context_records` (record_id -> record_json) and its headlines from `news_archive`
    (item_id -> row); a context stored whole (before the record was stored apart) is returned
    as it is. A record or an item that is missing is an error, not an empty one."""

    def record_of(record_id: str) -> dict[str, Any]:
        if record_id not in records:
            raise KeyError(
                f"context of cycle {doc.get('cycle_key')} refers to record {record_id}, which "
                "context_records does not hold"
            )
        return json.loads(records[record_id])

    doc = json.loads(context_json)
    return joined(doc, record_of, news)


NEWS_FIELDS = ("published_at", "visible_from", "source", "title", "summary", "tickers")


def _news_fields(row: Row) -> Row:
    """An archive row as a context shows it (times as "%Y-%m-%d %H:%M")."""
    out = {}
    for key in NEWS_FIELDS:
        value = row[key]
        out[key] = value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else value
    return out
