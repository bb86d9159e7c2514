"""One DuckDB file under pressure: concurrent runs (of cycles, then of two variants), and a run
killed mid-write."""

import json
import os
import signal
import time

import duckdb
import pytest
from filelock import FileLock, Timeout

from tests.e2e.processes import BIN, MATERIALIZE_MARKET, env_with, finish, start
from workshop_dagster.market.session_bars import WINDOW_BARS

pytestmark = pytest.mark.e2e
MATERIALIZE = MATERIALIZE_MARKET
JOB = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions", "-j"]


def test_five_runs_of_different_cycles_at_once_then_two_variant_backfills_at_once(workshop_env):
    """Five CLI runs at once on one warehouse file (each queues its writes on pool `duckdb`);
    then two side variants' backfills over those cycles at once, each its own run."""
    env = env_with(workshop_env)
    # Five consecutive cycles of the tests' cadence (09:15, 12:15, 19:15).
    keys = ["2026-03-02-19:15", "2026-03-03-09:15", "2026-03-03-12:15", "2026-03-03-19:15"]
    keys.append("2026-03-04-09:15")
    procs = [start([*MATERIALIZE, "--partition", key], env) for key in keys]
    for code, out in [finish(p, timeout=600) for p in procs]:
        assert code == 0, out[-3000:]
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        counts = dict(
            conn.execute("select cycle_key, count(*) from market_bars group by 1").fetchall()
        )
        labels = conn.execute("select count(*) from regime_labels").fetchone()[0]
    assert counts == {k: 17 for k in keys} and labels == len(keys)

    # Two variant backfills launched at once: both succeed, each writes its own schema once.
    span = json.dumps(
        {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
    )
    variants = ("no_feedback", "placebo")
    procs = [start([*JOB, f"{v}_cycle", "--tags", span], env) for v in variants]
    for code, out in [finish(p, timeout=600) for p in procs]:
        assert code == 0, out[-3000:]
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        for v in variants:
            memos = conn.execute(f"select count(*), count(distinct cycle_key) from {v}.memo")
            assert memos.fetchone() == (len(keys), len(keys)), v
            twice = conn.execute(
                f"select count(*) from (select cycle_key, source from {v}.predictions "
                "group by all having count(*) > 1)"
            ).fetchone()[0]
            assert twice == 0, v
            assert conn.execute(f"select count(*) from {v}.record_seals").fetchone()[0] == 5
        # The market was not recomputed by the variants' runs.
        again = conn.execute("select count(*) from market_bars").fetchone()[0]
    assert again == 17 * len(keys)


def _cycle_rows(db: str) -> dict[str, int]:
    with duckdb.connect(db, read_only=True) as conn:
        tables = {
            t
            for (t,) in conn.execute("select table_name from information_schema.tables").fetchall()
        }
        if "market_bars" not in tables:
            return {}
        return dict(
            conn.execute("select cycle_key, count(*) from market_bars group by 1").fetchall()
        )


def _clean_up_dead_runs() -> None:
    """What the daemon's run monitoring does for a run whose process died: mark it failed and
    give back its pool slot (a SIGKILLed CLI run otherwise holds pool "duckdb" forever)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        for run in instance.get_runs(
            filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]
            )
        ):
            instance.report_run_failed(run, "the run's process was killed")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def test_a_run_killed_mid_write_leaves_no_half_cycle(workshop_env, tmp_path):
    env = env_with(workshop_env)
    db = workshop_env["WORKSHOP_DB"]
    before = "2025-12-31-19:15"
    code, out = finish(start([*MATERIALIZE, "--partition", before], env), timeout=300)
    assert code == 0, out[-3000:]
    span = ["--partition-range", "2026-01-02-09:15...2026-03-31-19:15"]
    proc = start([*MATERIALIZE, *span], env)
    lock = FileLock(db + ".lock")
    deadline = time.monotonic() + 300
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            lock.acquire(timeout=0)
            lock.release()
        except Timeout:  # the run holds the warehouse: it is writing its first table
            time.sleep(0.3)  # well inside the transaction
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    finish(proc, timeout=30)
    assert killed, "the run finished before it could be killed mid-write"
    _clean_up_dead_runs()
    rows = _cycle_rows(db)
    assert rows.get(before) == 17, "the earlier cycle must be untouched"
    assert set(rows.values()) <= {17}, "a cycle is half written"

    # Re-running gives exactly what an undisturbed run gives.
    code, out = finish(start([*MATERIALIZE, *span], env), timeout=600)
    assert code == 0, out[-3000:]
    clean_db = str(tmp_path / "clean.duckdb")
    code, out = finish(start([*MATERIALIZE, *span], {**env, "WORKSHOP_DB": clean_db}), 600)
    assert code == 0, out[-3000:]
    # What each window held (put back from session_bars; the revision numbers differ).
    windows = "(select * from market_bars where cycle_ts >= TIMESTAMP '2026-01-02')"
    query = WINDOW_BARS.format(windows=windows) + " order by cycle_ts, ticker, bar_ts"
    with duckdb.connect(db, read_only=True) as a, duckdb.connect(clean_db, read_only=True) as b:
        assert a.execute(query).fetchdf().equals(b.execute(query).fetchdf())
