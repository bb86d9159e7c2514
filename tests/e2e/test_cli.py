"""The CLI a user runs: validate, demo, and two concurrent runs on one DuckDB file."""

import re
from pathlib import Path

import duckdb
import pytest

from tests.e2e.processes import BIN, MATERIALIZE_MARKET, env_with, finish, run, start
from tests.memo_quality import assert_memos_argue

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


OVERLAPPING = """
with counted as (
    select source, cycle_ts, horizon_end,
        least(ticker, coalesce(relative_to, ticker)) as leg_a,
        case when relative_to is null then '' else greatest(ticker, relative_to) end as leg_b,
        case when relative_to is not null and relative_to < ticker
            then (case direction when 'up' then 'down' when 'down' then 'up' else direction end)
            else direction end as way
    from prediction_scores where status = 'scored'
)
select count(*) from counted a join counted b
  on a.source = b.source and a.leg_a = b.leg_a and a.leg_b = b.leg_b
 and a.way = b.way and a.cycle_ts < b.cycle_ts and b.cycle_ts < a.horizon_end
"""


def _overlapping_counted_calls(conn) -> int:
    """Pairs of counted calls of one source on one idea (a pair written either way) whose
    windows, from the cycle to the horizon's end, overlap: the later one restated the first
    (predictions/standing_calls.py), so there must be none."""
    return conn.execute(OVERLAPPING).fetchone()[0]


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


def _the_demo_said_what_the_readme_promises(out: str, db: str) -> None:
    """The README's `make demo`: 320 cycles (four weeks) of the default cadence (09:15, every
    half hour to 15:45, 19:15, 19:45) offline, the latest memo in the seeds' layout, a
    scoreboard in plain words with calls and restatements apart, every source counted in ideas
    (no two counted calls of one source on one idea whose windows overlap)."""
    assert "market 'sim', minds 'offline'" in out
    assert re.search(r"\*\*\w+ \d+, \d{4} — \d+:\d\d [AP]M ET — Cycle \d+\*\*", out)
    assert "[DIRECTION: " in out and "*Debate: " in out
    assert "Scoreboard" in out and "synthesis" in out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("who"))
    for column in ("calls", "restated", "right [95%]", "base", "hit rate says", "Brier says"):
        assert column in header, header
    assert "hit_rate" not in out and "n_calls" not in out and "n_restatements" not in out
    assert "never under 0.5" in out
    assert "credit_hyg_5d" not in out and "spy_trend" not in out
    assert "Warning" not in out
    with duckdb.connect(db, read_only=True) as conn:
        times = conn.execute(
            "select strftime(cycle_ts, '%H:%M') from memo where cycle_ts >= "
            "(select max(cycle_ts) - interval 13 day from memo)"
        ).fetchall()
        assert conn.execute("select count(*) from memo").fetchone()[0] == 320
        assert _overlapping_counted_calls(conn) == 0
        calls, restated, minute = conn.execute(
            "select count(*) filter (where status = 'scored'), "
            "count(*) filter (where status = 'restatement'), "
            "count(*) filter (where scored_on = 'intraday') from prediction_scores"
        ).fetchone()
        # The track record counts the calls, and lists the restatements beside them.
        board = conn.execute(
            "select sum(n), sum(n_restatements) from track_record "
            "where regime = 'all' and timeframe_bucket = 'all' and subject_kind = 'all'"
        ).fetchone()
        # Every call is scored at a probability of 0.5 or more; a mind's own number is kept.
        under, no_conviction = conn.execute(
            "select count(*) filter (where confidence < 0.5), "
            "count(*) filter (where conviction is null) "
            "from predictions where parse_status = 'parsed'"
        ).fetchone()
    session = {f"{h:02d}:{m}" for h in range(9, 16) for m in ("15", "45")} | {"19:15", "19:45"}
    assert {t for (t,) in times} <= session and len({t for (t,) in times}) > 8
    # Calls at the minute are scored from the intraday bars the cycle saw.
    assert calls > 0 and minute > 0 and restated > calls
    assert board == (calls, restated)
    assert under == 0 and no_conviction == 0
    # Memos that argue: no claim against its figures, units on every number, titles that say
    # what each memo says.
    assert_memos_argue(db)


def test_the_readmes_demo_sequence_and_the_docs_march_backfill_leave_history_as_it_was(
    workshop_env,
):
    """`make demo`, the README's demo over March (earlier cycles), `make demo` again, then the
    docs' March backfill: every run succeeds, every cycle is sealed once, the later cycles keep
    what they published, and `make verify` passes and lists the backfills made out of order."""
    env = {k: v for k, v in env_with(workshop_env).items() if k != "WORKSHOP_CYCLE_CRON"}
    make = ["make", "-s"]
    code, out = run([*make, "demo"], env, timeout=600)
    assert code == 0, out[-3000:]
    _the_demo_said_what_the_readme_promises(out, workshop_env["WORKSHOP_DB"])
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        first = conn.execute("select cycle_key, body from memo order by 1").fetchall()
    code, out = run(
        [*make, "demo", "DEMO_ARGS=--cycles 48 --end 2026-03-30-19:15"], env, timeout=600
    )
    assert code == 0, out[-3000:]
    code, out = run([*make, "demo"], env, timeout=600)
    assert code == 0, out[-3000:]
    span = (
        '{"dagster/asset_partition_range_start": "2026-03-02-09:15", '
        '"dagster/asset_partition_range_end": "2026-03-31-19:15"}'
    )
    job = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions"]
    code, out = run([*job, "-j", "cycle", "--tags", span], env, timeout=600)
    assert code == 0, out[-3000:]
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        twice = conn.execute(
            "select count(*) from (select cycle_key from record_seals group by 1 "
            "having count(*) > 1)"
        ).fetchone()[0]
        kinds = {k for (k,) in conn.execute("select distinct kind from record_seals").fetchall()}
        later = dict(
            conn.execute(
                "select cycle_key, body from memo where cycle_key >= ? order by 1", [first[0][0]]
            ).fetchall()
        )
    assert twice == 0 and kinds == {"seal"}
    # The demo's cycles say what they said before the earlier cycles were added.
    assert all(later[key] == body for key, body in first if key in later)
    code, out = run([*make, "verify"], env, timeout=600)
    assert code == 0, out[-3000:]
    assert "backfilled out of time order: 2026-03-25-19:45 .. 2026-03-30-19:15 (48 cycle(s)" in out
    assert "backfilled out of time order: 2026-03-02-09:15 .. 2026-03-31-19:15" in out
