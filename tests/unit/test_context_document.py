"""The document a cycle's context is stored and prompted as (minds/cycle_context.py)."""

import json
from dataclasses import asdict, fields, replace

from workshop_dagster.minds.cycle_context import (
    RECORD_PARTS,
    CycleContext,
    Lesson,
    MarketView,
    RegimeView,
    record_document,
)


def _context(priors=None) -> CycleContext:
    numbers = {f.name: 0.25 for f in fields(MarketView) if f.name != "tickers"}
    market = MarketView(
        **numbers | {"ust_10y_change_5obs_bp": None},
        tickers={"SPY": {"last": 512.3, "change_1d_pct": -0.31, "quote": "12:10 (5m bars)"}},
    )
    return CycleContext(
        cycle_key="2026-03-30-12:15",
        cycle_ts="2026-03-30 12:15",
        ordinal=7,
        regime=RegimeView("risk_off", -0.4, "VIX up, breadth weak"),
        market=market,
        news=[{"cite": "N1", "item_id": "a1", "title": "Stocks slip", "summary": "<b>x</b>"}],
        track_record=[{"source": "flow", "regime": "all", "n": 12, "hits": 7}],
        lessons=[Lesson("2026-03-27-19:15", "flow", "2026-03-30 09:30", True, 0.85, "Right.")],
        calibration=[{"source": "flow", "direction": "up", "bin_low": 0.6, "n": 4}],
        rules=[{"rule_id": "r1", "source": "macro", "rule_text": "no index calls"}],
        known_through="2026-03-27 16:15",
        priors=priors,
    )


def test_the_document_is_the_dataclass_as_a_deep_copy_would_give_it():
    """`as_dict` shares the rows instead of deep-copying them (`asdict`): the JSON is the same,
    with and without a variant's priors, standing calls, releases and a news note (each left
    out when empty)."""
    standing = [{"source": "macro", "subject": "TLT", "direction": "up", "since": "k"}]
    for context in (
        _context(),
        _context({"bin": 5, "direction": 5}),
        replace(_context(), standing=standing),
        replace(
            _context(),
            releases=[{"name": "CPI", "at": "2026-04-10 08:30", "status": "coming"}],
            news_note="no headline is public in the day before this cycle",
        ),
    ):
        expected = asdict(context)
        if expected["priors"] is None:
            del expected["priors"]
        for optional in ("standing", "releases", "news_note"):
            if not expected[optional]:
                del expected[optional]
        assert context.to_json() == json.dumps(expected, sort_keys=True)
        assert context.as_dict() == expected


def test_the_stored_document_names_its_record_and_its_headlines_only():
    context = _context()
    stored, record_id, record_json = context.stored()
    expected = asdict(replace(context, **dict.fromkeys(RECORD_PARTS, [])))
    for part in RECORD_PARTS:
        del expected[part]
    del expected["priors"], expected["standing"], expected["releases"], expected["news_note"]
    expected |= {"record_id": record_id, "news": [{"cite": "N1", "item_id": "a1"}]}
    assert json.loads(stored) == expected
    assert (record_id, record_json) == record_document(context)
    # The context itself is untouched by storing it.
    assert context.news[0]["title"] == "Stocks slip" and context.track_record[0]["n"] == 12
