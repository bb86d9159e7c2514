"""A run killed with -9 while the minds think: the next CLI run of its cycle is not blocked."""

import json
import os
import signal
import time

import dagster as dg
import duckdb
import pandas as pd
import pytest

from tests.anthropic_server import MessagesServer
from tests.conftest import SHARED_DATA, shared_path
from tests.e2e.dagster_dev import temporary_workshop_env, wait_for
from tests.e2e.processes import BIN, env_with, finish, start

pytestmark = pytest.mark.e2e
CYCLE = "2026-03-30-19:15"
TABLES = ("mind_opinions", "debate", "memo", "predictions", "prediction_scores")


def _cycle_run(env: dict[str, str]):
    return start(
        [
            str(BIN / "dagster"),
            "job",
            "execute",
            "-m",
            "workshop_dagster.definitions",
            "-j",
            "cycle",
            "--tags",
            json.dumps({"dagster/partition": CYCLE}),
        ],
        env,
    )


def _rows(db: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(db, read_only=True) as conn:
        return {t: conn.execute(f"select * from {t} order by all").fetchdf() for t in TABLES}


def test_a_killed_run_frees_its_slot_and_the_rerun_matches_an_undisturbed_run(tmp_path):
    fixtures = shared_path(SHARED_DATA / "fixtures" / "anthropic")
    with MessagesServer(fixtures, latency_s=30.0) as api:
        claude = {
            "WORKSHOP_LLM": "anthropic",
            "ANTHROPIC_API_KEY": "sk-ant-test-dead-runs",
            "ANTHROPIC_BASE_URL": api.url,
        }
        disturbed = temporary_workshop_env(tmp_path / "disturbed", extra=claude)
        env = env_with(disturbed)

        # 1. A run reaches the minds (they take 30 s to answer) and is killed with -9.
        killed = _cycle_run(env)
        try:
            wait_for(lambda: len(api.requests) >= 1, 120, "the run to call the minds", every=0.5)
        finally:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
        os.environ["DAGSTER_HOME"], home = disturbed["DAGSTER_HOME"], os.environ.get("DAGSTER_HOME")
        try:
            instance = dg.DagsterInstance.get()
            (dead,) = instance.get_runs(filters=dg.RunsFilter(job_name="cycle"))
            assert dead.status == dg.DagsterRunStatus.STARTED  # as Dagster leaves it

            # 2. The next run of the cycle is not blocked by the dead run's `llm` slot.
            api.latency_s = 0.0
            code, out = finish(_cycle_run(env), timeout=120)
            assert code == 0, out[-3000:]
            dead = instance.get_run_by_id(dead.run_id)
            assert dead.status == dg.DagsterRunStatus.FAILURE
            slots = instance.event_log_storage.get_concurrency_info("llm")
            assert not [s for s in slots.claimed_slots if s.run_id == dead.run_id]
        finally:
            if home is None:
                os.environ.pop("DAGSTER_HOME", None)
            else:
                os.environ["DAGSTER_HOME"] = home

        # 3. Its rows are those of a run nobody disturbed.
        calm = temporary_workshop_env(tmp_path / "calm", extra=claude)
        code, out = finish(_cycle_run(env_with(calm)), timeout=120)
        assert code == 0, out[-3000:]
    got, want = _rows(disturbed["WORKSHOP_DB"]), _rows(calm["WORKSHOP_DB"])
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], want[table], obj=table)


def test_a_blocked_step_sleeps_until_its_next_claim_check():
    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )

    from workshop_dagster.platform.run_guard import patch_blocked_step_sleep

    patch_blocked_step_sleep()
    ctx = InstanceConcurrencyContext.__new__(InstanceConcurrencyContext)
    ctx._pending_claims = {"deliberation"}
    ctx._pending_timeouts = {"deliberation": time.time() + 5}
    assert 4 < ctx.interval_to_next_pending_claim_check() <= 5
    ctx._pending_timeouts = {"deliberation": time.time() - 1}
    assert ctx.interval_to_next_pending_claim_check() == 0
