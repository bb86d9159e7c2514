"""The record a cycle sees is as of the last session close (plus VIX's settlement) before it:
the cycles of a session share it, and the waves of a Message-Batches backfill are those cycles."""

import pandas as pd

from workshop_dagster.minds.context import CycleHistory, record_point, waves
from workshop_dagster.predictions.tags import parse_tag

T = pd.Timestamp


def test_every_cycle_of_a_session_sees_the_previous_evenings_record():
    # Monday 2026-03-30 .. Tuesday: the record moves at 16:15, after each close.
    for cycle in ("2026-03-30 09:15", "2026-03-30 12:45", "2026-03-30 15:45"):
        assert record_point(T(cycle)) == T("2026-03-27 16:15")  # Friday's close
    assert record_point(T("2026-03-30 16:15")) == T("2026-03-30 16:15")
    assert record_point(T("2026-03-30 19:15")) == T("2026-03-30 16:15")
    assert record_point(T("2026-03-31 09:15")) == T("2026-03-30 16:15")
    # Good Friday 2026-04-03 is closed: Monday morning still sees Thursday's close.
    assert record_point(T("2026-04-06 09:45")) == T("2026-04-02 16:15")
    # A half day closes at 13:00.
    assert record_point(T("2026-11-27 19:15")) == T("2026-11-27 13:15")


def test_waves_are_the_cycles_that_share_a_record_point():
    cycles = [
        T(c)
        for c in (
            "2026-03-30 09:15",
            "2026-03-30 15:45",
            "2026-03-30 19:15",
            "2026-03-31 09:15",
            "2026-03-31 19:15",
        )
    ]
    assert waves(cycles) == [cycles[:2], cycles[2:4], cycles[4:]]


def _call(cycle: str, tag: str, source: str) -> dict:
    row = parse_tag(tag, T(cycle)).as_row()
    return row | {
        "cycle_key": cycle,
        "cycle_ts": T(cycle),
        "source": source,
        "regime": "chop",
        "subject_kind": "index" if row["ticker"] else None,
        "timeframe_bucket": "intraday" if row["ticker"] else None,
        "price_series": "daily",
    }


def test_a_sub_session_call_and_an_abstention_count_from_the_close_not_the_next_cycle():
    closes = pd.DataFrame(
        {
            "ticker": ["SPY"] * 3,
            "bar_ts": [T("2026-03-27 16:00"), T("2026-03-30 13:45"), T("2026-03-30 16:00")],
            "close": [100.0, 101.0, 102.0],
        }
    )
    history = CycleHistory(closes=closes)
    history.add_predictions(
        [
            _call(
                "2026-03-30 09:45",
                "[DIRECTION: up (SPY)] [TIMEFRAME: 4h] [CONFIDENCE: 0.6]",
                "flow",
            ),
            _call(
                "2026-03-30 09:45",
                "[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]",
                "macro",
            ),
        ]
    )
    history.advance_to(T("2026-03-30 14:15"))  # the 4h call has ended, the session has not
    assert history.known_by(T("2026-03-30 14:15")) == []
    history.advance_to(T("2026-03-30 19:15"))
    known = history.known_by(T("2026-03-30 19:15"))
    assert sorted(r["status"] for r in known) == ["abstained", "scored"]
    assert history.known_through(T("2026-03-30 19:15")) <= T("2026-03-30 16:15")


def test_a_call_made_at_the_record_point_itself_counts_from_the_next_point():
    # 2024-11-29 closes at 13:00: its 13:15 cycle is the record point itself. What that cycle
    # says is not in the record its own wave (13:45 .. the next morning) sees, in the loop and
    # in the leak audit alike (found by the intraday walk-forward: the audit counted one
    # abstention more than the loop showed).
    import numpy as np

    from workshop_dagster.evaluation.leak_audit import _known_counts

    cycle = "2024-11-29 13:15"
    assert record_point(T(cycle)) == T(cycle)
    assert waves([T(cycle), T("2024-11-29 13:45")]) == [[T(cycle), T("2024-11-29 13:45")]]
    history = CycleHistory(closes=pd.DataFrame(columns=["ticker", "bar_ts", "close"]))
    history.advance_to(T(cycle))
    history.add_predictions(
        [_call(cycle, "[DIRECTION: abstain] [TIMEFRAME: none] [CONFIDENCE: 0]", "synthesis")]
    )
    history.advance_to(T("2024-11-29 13:45"))
    assert history.known_by(T("2024-11-29 13:45")) == []
    history.advance_to(T("2024-12-02 19:15"))
    assert len(history.known_by(T("2024-12-02 19:15"))) == 1

    scores = pd.DataFrame(
        {"status": ["abstained"], "cycle_ts": [T(cycle)], "known_at": [T(cycle)], "hit": [np.nan]}
    )
    assert _known_counts(scores, T("2024-11-29 13:45"), "abstained") == 0
    assert _known_counts(scores, T("2024-12-02 19:15"), "abstained") == 1


def test_a_cycles_calls_get_the_types_a_dataframe_round_trip_would_give():
    """`table_types` replaces a frame a cycle (pd.DataFrame(rows).to_dict): the same values and
    types, column by column, for every mix of present and missing values."""
    import math

    import pandas as pd

    from workshop_dagster.minds.loop import TIME_COLUMNS, table_types

    def round_trip(rows):
        frame = pd.DataFrame(rows)
        for col in TIME_COLUMNS:
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
        return frame.to_dict("records")

    def same(a, b):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        if a is pd.NaT or b is pd.NaT:
            return a is pd.NaT and b is pd.NaT
        return type(a) is type(b) and a == b

    ts = pd.Timestamp("2026-03-31 16:00")
    choices = {
        "count": [3, None],
        "share": [0.62, None, 1],
        "flag": [True, None],
        "word": ["up", None],
        "stamp": [ts, None],
        "horizon_end": [ts, None],
        "quote_ts": [ts.as_unit("us"), None],
        "relative_quote_ts": [None],
    }
    import random

    pick = random.Random(1)
    cases = 0
    for _ in range(400):
        rows = [{k: pick.choice(v) for k, v in choices.items()} for _ in range(3)]
        mine, theirs = table_types(rows), round_trip(rows)
        for a, b in zip(mine, theirs, strict=True):
            assert a.keys() == b.keys()
            for k in a:
                assert same(a[k], b[k]), (k, [r[k] for r in rows], a[k], b[k])
        cases += 1
    assert cases == 400


def _as_the_record_point_filter_gives_it(known: list[dict], at: pd.Timestamp, n: int):
    """What a cycle at `at` is shown, by the definition: the scores known by its record point
    and made before it, the last `n` scored by (known_at, cycle, source), a stable sort."""
    point = record_point(at)
    rows = [r for r in known if r["known_at"] <= point and r["cycle_ts"] < point]
    scored = [r for r in rows if r["status"] == "scored"]
    recent = sorted(scored, key=lambda r: (r["known_at"], r["cycle_key"], r["source"]))[-n:]
    return len(rows), recent, max((r["known_at"] for r in rows), default=None)


def test_the_bisected_record_is_the_record_point_filter_at_every_point():
    """The known scores are kept in (known_at, cycle, source) order and a point's record found
    by bisection: the same rows, counts and lessons as filtering them all at every point, ties
    and calls made at a half day's point included, as the history grows and for past points (a
    placebo's)."""
    import numpy as np

    rng = np.random.default_rng(5)
    cycles = pd.date_range("2024-11-25 09:15", "2024-12-06 19:15", freq="30min")
    cycles = [c for c in cycles if c.dayofweek < 5] + [T("2024-11-29 13:15")]
    history = CycleHistory(closes=pd.DataFrame(columns=["ticker", "bar_ts", "close"]))
    for step in range(12):
        for _ in range(25):
            made = cycles[rng.integers(len(cycles))]
            # Known at once (an abstention), at a close, or exactly at a half day's point.
            delay = [pd.Timedelta(0), pd.Timedelta(hours=int(rng.integers(1, 80)))][
                int(rng.integers(2))
            ]
            history.known.append(
                {
                    "cycle_key": made.strftime("%Y-%m-%d-%H:%M"),
                    "cycle_ts": made,
                    "known_at": made + delay,
                    "source": ["flow", "macro", "synthesis"][int(rng.integers(3))],
                    "status": ["scored", "abstained"][int(rng.integers(2))],
                }
            )
        for at in [*cycles[::7], T("2024-11-29 13:15"), T("2024-11-29 13:45")]:
            if record_point(at) is None:
                continue
            count, recent, through = _as_the_record_point_filter_gives_it(history.known, at, 5)
            assert history.count_known(at) == len(history.known_by(at)) == count, (step, at)
            assert history.recent_scored(at, 5) == recent, (step, at)
            assert history.known_through(at) == through, (step, at)


def test_a_score_known_before_its_call_was_made_is_refused():
    import pytest

    history = CycleHistory(closes=pd.DataFrame(columns=["ticker", "bar_ts", "close"]))
    history.known = [
        {"cycle_ts": T("2026-03-30 12:15"), "known_at": T("2026-03-30 09:00"), "source": "flow"}
    ]
    with pytest.raises(ValueError, match="known at 2026-03-30 09:00:00, before its call"):
        history.count_known(T("2026-03-31 19:15"))
