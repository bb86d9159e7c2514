"""`make demo` run every evening of a week, the clock simulated (issue: history is history)."""

import re
import sys

import duckdb
import pytest

from tests.e2e.processes import env_with, run

pytestmark = pytest.mark.e2e

# `make demo` run each evening of a week, the clock moved a day at a time (the demo, the
# cycles' refusal of the future and the scoring all read `calendar.now_ny`): each run covers
# the last four cycles (a day of the tests' three and the previous evening's, sealed by the run
# before); Saturday's finds nothing new.
WEEK_OF_DEMOS = """
import sys
import pandas as pd
from workshop_dagster.commands import demo
from workshop_dagster.market import calendar

for day in pd.date_range("2026-03-02", "2026-03-07"):
    evening = day + pd.Timedelta(hours=19, minutes=50)
    calendar.now_ny = lambda evening=evening: evening
    chosen = demo.backfill(cycles=4)
    print(f"DAY {day:%Y-%m-%d} {chosen[0]} {chosen[-1]}", flush=True)
"""


def test_the_demo_run_every_evening_of_a_week_adds_each_day_once_and_rewrites_nothing(
    workshop_env,
):
    code, out = run([sys.executable, "-c", WEEK_OF_DEMOS], env_with(workshop_env), timeout=600)
    assert code == 0, out[-3000:]
    days = re.findall(r"^DAY (\S+) (\S+) (\S+)$", out, flags=re.M)
    assert [d for d, _, _ in days] == [f"2026-03-0{i}" for i in range(2, 8)]
    assert days[0][1:] == ("2026-02-27-19:15", "2026-03-02-19:15")
    assert days[-1][1:] == ("2026-03-05-19:15", "2026-03-06-19:15")  # Saturday: Friday's
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        sealed = conn.execute(
            "select cycle_key, count(*) from record_seals group by 1 order by 1"
        ).fetchall()
        scored = conn.execute(
            "select count(*) from prediction_scores where status = 'scored' "
            "and cycle_key < '2026-03-04'"
        ).fetchall()[0][0]
    # The Friday evening before and the five sessions' three cycles, every one sealed once.
    assert len(sealed) == 16 and all(n == 1 for _, n in sealed), sealed
    assert scored > 0, "the calls of the week's first days were scored as their horizons passed"
    code, verified = run(
        [sys.executable, "-m", "workshop_dagster.commands.verify"], env_with(workshop_env)
    )
    assert code == 0 and "verified" in verified, verified[-2000:]
