"""A call stands until its horizon: saying it again meanwhile is a restatement, never counted.

The worked examples of docs/scoring.md ("One idea, one outcome"), on the default cadence."""

import pandas as pd
import pytest

from workshop_dagster.predictions.standing_calls import StandingCalls, label
from workshop_dagster.predictions.tags import parse_tag


def call(cycle: str, direction: str, timeframe: str, subject: str = "SPY", source: str = "macro"):
    """A parsed call as the loop records it, made at `cycle` ("2026-03-30 09:15")."""
    ts = pd.Timestamp(cycle)
    ticker, _, other = subject.partition(" vs ")
    target = f"{ticker} relative to {other}" if other else ticker
    tag = f"[DIRECTION: {direction} ({target})] [TIMEFRAME: {timeframe}] [CONFIDENCE: 0.6]"
    row = parse_tag(tag, ts).as_row()
    return {**row, "source": source, "cycle_ts": ts, "cycle_key": ts.strftime("%Y-%m-%d-%H:%M")}


def cycles(day: str) -> list[str]:
    """The 16 cycles of a trading day on the default cadence."""
    times = [f"{h:02d}:{m}" for h in range(9, 16) for m in ("15", "45")] + ["19:15", "19:45"]
    return [f"{day} {t}" for t in times]


def test_a_48h_call_repeated_every_cycle_of_the_day_is_one_call_and_15_restatements():
    rows = StandingCalls().walk([call(c, "down", "48h") for c in cycles("2026-03-30")])
    assert [label(r) for r in rows] == ["new"] + ["restatement"] * 15
    assert {r["restates"] for r in rows[1:]} == {"2026-03-30-09:15"}


def test_a_1w_call_repeated_the_next_morning_restates_it():
    rows = StandingCalls().walk(
        [call("2026-03-30 19:15", "up", "1w", "TLT"), call("2026-03-31 09:15", "up", "1w", "TLT")]
    )
    assert [label(r) for r in rows] == ["new", "restatement"]


def test_a_1w_call_after_a_48h_call_the_same_way_restates_it_whatever_its_horizon():
    standing = StandingCalls()
    rows = standing.walk(
        [call("2026-03-30 09:15", "up", "48h"), call("2026-03-31 09:15", "up", "1w")]
    )
    assert [label(r) for r in rows] == ["new", "restatement"]
    # The standing call keeps its own horizon: once it has ended, the same call is new.
    after = standing.walk([call("2026-04-02 09:45", "up", "1w")])
    assert label(after[0]) == "new"


def test_a_flip_mid_horizon_is_a_new_call_that_names_what_it_replaces():
    rows = StandingCalls().walk(
        [
            call("2026-03-30 09:15", "up", "1w"),
            call("2026-04-01 12:15", "down", "48h"),
            call("2026-04-01 12:45", "up", "1w"),
        ]
    )
    assert [label(r) for r in rows] == ["new", "flip", "flip"]
    assert rows[1]["replaces"] == "2026-03-30-09:15" and rows[2]["replaces"] == "2026-04-01-12:15"


def test_another_subject_another_source_or_a_call_after_the_horizon_is_new():
    rows = StandingCalls().walk(
        [
            call("2026-03-30 09:15", "up", "4h"),
            call("2026-03-30 09:45", "up", "4h", "QQQ"),
            call("2026-03-30 09:45", "up", "4h", source="synthesis"),
            call("2026-03-30 14:15", "up", "4h"),  # 09:15 + 4h ended at 13:15
        ]
    )
    assert [label(r) for r in rows] == ["new", "new", "new", "new"]


def test_a_pair_is_one_idea_whichever_way_it_is_written():
    rows = StandingCalls().walk(
        [
            call("2026-03-30 19:15", "down", "48h", "IWM vs META"),
            call("2026-03-31 09:15", "up", "48h", "META vs IWM"),
            call("2026-03-31 09:45", "down", "48h", "META vs IWM"),
        ]
    )
    assert [label(r) for r in rows] == ["new", "restatement", "flip"]


@pytest.mark.parametrize("status", ["abstained", "error"])
def test_abstentions_and_parse_errors_neither_stand_nor_restate(status):
    blank = {"parse_status": status, "source": "macro", "cycle_ts": pd.Timestamp("2026-03-30")}
    standing = StandingCalls()
    assert standing.walk([{**blank, "cycle_key": "k"}])[0]["restates"] is None
    assert standing.by_subject == {}
