"""Evaluation arithmetic, the walk-forward baselines and the leak audit on small frames."""

import json

import numpy as np
import pandas as pd
import pytest

from workshop_dagster.evaluation.leak_audit import audit
from workshop_dagster.evaluation.metrics import expected_calibration_error, summarize
from workshop_dagster.predictions.baselines import walk_forward_rate

T = pd.Timestamp


def test_expected_calibration_error():
    # Two bins: 0.8 stated, 3 of 4 right (|0.8 - 0.75|); 0.3 stated, 1 of 4 right (|0.3 - 0.25|).
    conf = np.array([0.8] * 4 + [0.3] * 4)
    hit = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    assert expected_calibration_error(conf, hit) == pytest.approx(0.05)
    assert expected_calibration_error(np.array([0.5, 0.5]), np.array([1, 0])) == 0.0


def test_summarize_counts_abstentions_apart_and_scores_against_the_reference():
    frame = pd.DataFrame(
        {
            "status": ["scored", "scored", "scored", "scored", "abstained"],
            "hit": [True, True, False, True, None],
            "confidence": [0.75, 0.75, 0.75, 0.75, None],
            "reference": [0.5, 0.5, 0.5, 0.5, None],
        }
    )
    s = summarize(frame)
    assert s["n"] == 4 and s["hit_rate"] == 0.75 and s["abstention_rate"] == 0.2
    assert s["brier"] == pytest.approx((3 * 0.0625 + 0.5625) / 4)
    assert s["brier_skill"] == pytest.approx(1 - s["brier"] / 0.25)
    assert s["ece"] == pytest.approx(0.0)


def test_walk_forward_rate_uses_only_what_was_known_at_each_time():
    known = pd.Series([T("2024-01-02 16:00"), T("2024-01-03 16:00"), T("2024-01-04 16:00")])
    hit = pd.Series([True, True, False])
    at = pd.Series([T("2024-01-02 15:59"), T("2024-01-02 16:00"), T("2024-01-05")])
    rates = walk_forward_rate(known, hit, at, prior_n=2)
    assert rates.tolist() == pytest.approx([0.5, 2 / 3, 3 / 5])


def _tables(
    lesson_known_at="2024-01-03 16:00",
    bar_ts="2024-01-04 16:00",
    seen_n=1,
    quote_ts="2024-01-04 19:10",
    window_sessions=1,
    news_visible="2024-01-04 18:00",
):
    cycle = {"cycle_key": "2024-01-04-19:15", "cycle_ts": T("2024-01-04 19:15")}
    scores = pd.DataFrame(
        [
            {
                "cycle_key": "2024-01-02-19:15",
                "cycle_ts": T("2024-01-02 19:15"),
                "source": "flow",
                "status": "scored",
                "known_at": T(lesson_known_at),
                "timeframe_bucket": "1-2d",
                "subject_kind": "index",
            },
            # Scored later than the cycle: must not be in what the cycle saw.
            {
                "cycle_key": "2024-01-03-19:15",
                "cycle_ts": T("2024-01-03 19:15"),
                "source": "flow",
                "status": "scored",
                "known_at": T("2024-01-05 16:00"),
                "timeframe_bucket": "1-2d",
                "subject_kind": "index",
            },
        ]
    )
    ctx = {
        "lessons": [{"cycle_key": "2024-01-02-19:15", "source": "flow"}],
        "track_record": [
            {
                "source": "flow",
                "regime": "all",
                "timeframe_bucket": "all",
                "subject_kind": "all",
                "n": seen_n,
                "n_abstained": 0,
            }
        ],
        "rules": [],
    }
    return {
        "market_bars": pd.DataFrame([{**cycle, "ticker": "SPY", "bar_ts": T(bar_ts)}]),
        # The window market_bars stores, which the bars above are put back from.
        "market_windows": pd.DataFrame(
            [
                {
                    **cycle,
                    "ticker": "SPY",
                    "sessions": window_sessions,
                    "last_bar_ts": T(bar_ts),
                }
            ]
        ),
        "market_quotes": pd.DataFrame([{**cycle, "quote_ts": T(quote_ts)}]),
        "macro_rates": pd.DataFrame([{**cycle, "as_of": T("2024-01-04 18:00")}]),
        "news_items": pd.DataFrame(columns=["cycle_key", "cycle_ts", "visible_from"]),
        "cycle_features": pd.DataFrame([{**cycle, "last_bar_ts": T("2024-01-04 16:00")}]),
        # Stored as the loop stores it: the record apart, named by its id.
        "mind_context": pd.DataFrame(
            [
                {
                    **cycle,
                    "known_through": T("2024-01-03 16:00"),
                    "context_json": json.dumps(
                        {
                            "lessons": ctx["lessons"],
                            "news": [{"cite": "N1", "item_id": "i1"}],
                            "record_id": "r1",
                            "cycle_key": cycle["cycle_key"],
                        }
                    ),
                }
            ]
        ),
        # The headline the context names, as the archive holds it.
        "news_archive": pd.DataFrame(
            [
                {
                    "item_id": "i1",
                    "published_at": T("2024-01-04 17:00"),
                    "visible_from": T(news_visible),
                    "source": "Wire",
                    "title": "Fed holds",
                    "summary": "",
                    "tickers": "",
                }
            ]
        ),
        "context_records": pd.DataFrame(
            [
                {
                    "record_id": "r1",
                    "record_json": json.dumps(
                        {k: ctx[k] for k in ("track_record", "rules")} | {"calibration": []}
                    ),
                }
            ]
        ),
        "prediction_scores": scores,
    }


def test_the_audit_passes_a_clean_cycle():
    checks, violations = audit(_tables())
    assert checks >= 7 and violations == []


@pytest.mark.parametrize(
    ("tables", "what"),
    [
        (_tables(bar_ts="2024-01-05 16:00"), "market_bars"),
        # The bar of 19:10 at 5 minutes ends at 19:15: seen; one ending at 19:20 is not.
        (_tables(quote_ts="2024-01-04 19:20"), "market_quotes"),
        # A window that does not resolve to the sessions it held (a revision lost or rewritten).
        (_tables(window_sessions=30), "market_bars (window)"),
        # A headline first fetched (or published) after the cycle, in its context.
        (_tables(news_visible="2024-01-04 19:16"), "news"),
        (_tables(lesson_known_at="2024-01-04 20:00"), "lesson"),
        (_tables(seen_n=2), "track_record (leak)"),
        (_tables(seen_n=0), "track_record (loss)"),
    ],
)
def test_the_audit_finds_each_kind_of_leak(tables, what):
    _, violations = audit(tables)
    assert what in {v.what for v in violations}


def test_the_audit_checks_what_each_variant_shows():
    from workshop_dagster.minds.context import Feedback

    # no_feedback: the one record line and lesson the cycle was shown are violations.
    _, violations = audit(_tables(), Feedback("off"))
    assert "feedback (off)" in {v.what for v in violations}
    # placebo, 2 days back: the lesson known 2024-01-03 16:00 and a record counting the call
    # known then are more than was knowable two days before 2024-01-04 19:15: they are the
    # cycle's own record, not the placebo's.
    _, violations = audit(_tables(), Feedback("placebo", 2))
    assert {"lesson", "track_record (leak)"} <= {v.what for v in violations}
    # A lesson known by then is one the placebo may show.
    _, violations = audit(_tables(lesson_known_at="2024-01-02 16:00"), Feedback("placebo", 2))
    assert "lesson" not in {v.what for v in violations}


def test_baselines_score_a_call_made_at_the_minute_in_the_intraday_series():
    from workshop_dagster.predictions.baselines import baseline_scores
    from workshop_dagster.predictions.tags import parse_tag

    cycle = T("2026-04-02 12:15")
    row = parse_tag("[DIRECTION: down (SPY)] [TIMEFRAME: 4h] [CONFIDENCE: 0.6]", cycle).as_row()
    call = {
        **row,
        "cycle_key": "2026-04-02-12:15",
        "cycle_ts": cycle,
        "source": "synthesis",
        "regime": "calm",
        "subject_kind": "index",
        "timeframe_bucket": "intraday",
        "price_series": "intraday",
    }
    # The daily closes rise 10% (dividend-adjusted), the bars of the minute fall 1%: scored
    # inside one series, always_up misses and momentum (the day's move so far, down) is right.
    prices = pd.DataFrame(
        [
            ("SPY", T("2026-04-01 16:00"), 100.0, "daily"),
            ("SPY", T("2026-04-02 16:00"), 110.0, "daily"),
            ("SPY", T("2026-04-02 12:15"), 500.0, "intraday"),
            ("SPY", T("2026-04-02 16:00"), 495.0, "intraday"),
        ],
        columns=["ticker", "bar_ts", "close", "series"],
    )
    features = pd.DataFrame([{"cycle_ts": cycle, "ticker": "SPY", "change_1d_pct": -0.4}])
    scores = pd.DataFrame(
        {"status": ["scored"], "known_at": [T("2026-04-01 16:00")], "hit": [True]}
    )
    out = baseline_scores(pd.DataFrame([call]), features, prices, scores, T("2026-04-03"))
    by = out.set_index("source")
    assert set(by["scored_on"]) == {"intraday"}
    assert by.loc["always_up", "hit"] == False  # noqa: E712 - a numpy bool
    assert by.loc["momentum", "direction"] == "down" and by.loc["momentum", "hit"] == True  # noqa: E712


def test_a_context_naming_a_record_that_is_not_stored_is_an_error():
    tables = _tables()
    tables["context_records"] = tables["context_records"].iloc[0:0]
    with pytest.raises(KeyError, match="refers to record r1, which context_records does not hold"):
        audit(tables)


@pytest.mark.parametrize("end", ["2026-13-45", "20260101", "soon"])
def test_an_end_date_that_is_not_a_date_is_refused_by_name(end, capsys):
    from workshop_dagster.evaluation.__main__ import _parse

    with pytest.raises(SystemExit):
        _parse(["--end", end])
    assert f"argument --end: '{end}'" in capsys.readouterr().err
