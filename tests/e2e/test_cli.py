"""The CLI a user runs: validate, demo, and two concurrent runs on one DuckDB file."""

from pathlib import Path

import duckdb
import pytest

from tests.e2e.processes import BIN, MATERIALIZE_MARKET, env_with, finish, run, start

pytestmark = pytest.mark.e2e


def test_definitions_validate_as_a_newcomer_runs_it(workshop_env):
    """In the project folder with no DAGSTER_HOME, as a Dagster user's first habit."""
    env = env_with(workshop_env)
    env.pop("DAGSTER_HOME")
    code, out = run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], env)
    assert code == 0, out
    assert "Validation successful for code location workshop" in out


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ({"WORKSHOP_MARKET": "bogus"}, "WORKSHOP_MARKET='bogus' is not a market source"),
        ({"WORKSHOP_LLM": "anthropic"}, "WORKSHOP_LLM=anthropic needs ANTHROPIC_API_KEY"),
    ],
)
def test_a_bad_setting_fails_validate_and_runs_before_any_write(workshop_env, setting, says):
    env = env_with({**workshop_env, **setting})
    env.pop("ANTHROPIC_API_KEY", None)
    code, out = run([str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"], env)
    assert code != 0 and says in out, out
    code, out = run([*MATERIALIZE_MARKET, "--partition", "2026-03-30-19:15"], env)
    assert code != 0 and says in out, out
    assert not Path(workshop_env["WORKSHOP_DB"]).exists(), "a run with a bad setting wrote"


def test_demo_runs_offline_on_the_default_cadence_and_prints_the_cycle(workshop_env):
    """Two trading days of the default cadence: 09:15, every half hour to 15:45, 19:15, 19:45."""
    code, out = run(
        [
            str(BIN / "python"),
            "-m",
            "workshop_dagster.demo",
            "--cycles",
            "32",
            "--end",
            "2026-03-31-19:45",
        ],
        {k: v for k, v in env_with(workshop_env).items() if k != "WORKSHOP_CYCLE_CRON"},
    )
    assert code == 0, out
    assert "market 'sim', minds 'offline'" in out
    assert "**March 31, 2026 — 7:45 PM ET — Cycle " in out  # the latest memo, in the seeds' layout
    assert "[DIRECTION: " in out and "*Debate: " in out
    assert "Scoreboard" in out and "synthesis" in out
    # Plain column names, the base rate beside each hit rate, no feature column names in prose.
    header = next(line for line in out.splitlines() if line.lstrip().startswith("who"))
    for column in ("outcomes", "calls", "right", "base rate", "skill vs base rate"):
        assert column in header, header
    assert "hit_rate" not in out and "n_calls" not in out
    assert "credit_hyg_5d" not in out and "spy_trend" not in out
    assert "Warning" not in out
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        times = [
            r[0] for r in conn.execute("select strftime(cycle_ts, '%H:%M') from memo").fetchall()
        ]
        assert conn.execute("select count(*) from track_record").fetchone()[0] > 0
        # Each scored call its own outcome: calls at the minute enter at their own price, and a
        # daily-scored call is not made again before the next close (minds/repeats.py).
        calls, outcomes, daily = conn.execute(
            "select count(*), count(distinct (source, subject, direction, entry_ts, exit_ts)), "
            "count(*) filter (where scored_on = 'daily') "
            "from prediction_scores where status = 'scored'"
        ).fetchone()
        # The track record counts those outcomes, and says how many calls they were.
        board = conn.execute(
            "select sum(n), sum(n_calls) from track_record "
            "where regime = 'all' and timeframe_bucket = 'all' and subject_kind = 'all'"
        ).fetchone()
        # Every call is scored at a probability of 0.5 or more; a mind's own number is kept.
        under, no_conviction = conn.execute(
            "select count(*) filter (where confidence < 0.5), "
            "count(*) filter (where conviction is null) "
            "from predictions where parse_status = 'parsed'"
        ).fetchone()
    session = [f"{h:02d}:{m}" for h in range(9, 16) for m in ("15", "45")]
    assert sorted(times) == sorted([*session, "19:15", "19:45"] * 2)
    assert calls > 0 and daily > 0 and calls == outcomes
    assert board == (outcomes, calls)
    assert under == 0 and no_conviction == 0


def test_two_processes_write_different_cycles_to_one_file(workshop_env):
    env = env_with(workshop_env)
    procs = [
        start([*MATERIALIZE_MARKET, "--partition", key], env)
        for key in ("2026-03-30-19:15", "2026-03-31-19:15")
    ]
    results = [finish(p) for p in procs]
    for code, out in results:
        assert code == 0, out
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        keys = conn.execute("select cycle_key from regime_labels order by 1").fetchall()
        bars = conn.execute(
            "select cycle_key, count(*) from market_bars group by 1 order by 1"
        ).fetchall()
    assert [k for (k,) in keys] == ["2026-03-30-19:15", "2026-03-31-19:15"]
    # One window per ticker each; the sessions both share stored once.
    assert [n for _, n in bars] == [17, 17]
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        assert conn.execute("select count(*) from session_bars").fetchone()[0] == 17 * 31
