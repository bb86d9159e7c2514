"""The real webserver and daemon: a cycle launched over GraphQL, a partition backfill, and the
scoring sensor firing on its own."""

import os
import signal
import socket
import subprocess
import time
import urllib.request

import duckdb
import pytest

from tests.e2e.processes import BIN, PROJECT, env_with
from workshop_dagster import warehouse

pytestmark = pytest.mark.e2e
CYCLE = "2026-03-30-19:15"
BACKFILL = ["2026-03-31-09:15", "2026-03-31-12:15", "2026-03-31-19:15"]
RUN_STATUS = """query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"""
BACKFILL_MUTATION = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
BACKFILL_STATUS = """query($id: String!) {
  partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"""
SENSOR_RUNS = """query {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: "scoring_sensor"}]}) {
    ... on Runs { results { runId status tags { key value } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def dagster_dev(workshop_env):
    port = _free_port()
    env = env_with({**workshop_env, "WORKSHOP_SCORING_INTERVAL_S": "10"})
    log = open(os.path.join(workshop_env["DAGSTER_HOME"], "dagster-dev.log"), "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up():
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait(up, 120, "dagster dev to answer /server_info")
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        yield client, workshop_env
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
        _wait(lambda: _port_free(port), 30, "the port to be released")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _run_status(client, run_id: str) -> str:
    return client._execute(RUN_STATUS, {"id": run_id})["runOrError"]["status"]


def test_cycle_backfill_and_sensor_through_the_real_processes(dagster_dev):
    client, env = dagster_dev
    # 1. A cycle launched through GraphQL, as the UI does.
    run_id = client.submit_job_execution("cycle", tags={"dagster/partition": CYCLE})
    status = _wait(
        lambda: (
            _run_status(client, run_id) in ("SUCCESS", "FAILURE") and _run_status(client, run_id)
        ),
        240,
        "the cycle run",
    )
    assert status == "SUCCESS"

    # 2. A partition backfill over a range of cycles, run by the daemon (one run: single-run).
    params = {
        "selector": {
            "repositorySelector": {
                "repositoryLocationName": "workshop",
                "repositoryName": "__repository__",
            },
            "partitionSetName": "cycle_partition_set",
        },
        "partitionNames": BACKFILL,
    }
    launched = client._execute(BACKFILL_MUTATION, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def backfill_done():
        status = client._execute(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"][
            "status"
        ]
        return (
            status
            if status
            in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED", "CANCELED")
            else None
        )

    assert _wait(backfill_done, 300, "the backfill", every=3) in ("COMPLETED", "COMPLETED_SUCCESS")
    with warehouse.connect(env["WORKSHOP_DB"], transaction=False) as conn:
        keys = [k for (k,) in conn.execute("select cycle_key from memo order by 1").fetchall()]
    assert set(keys) == {CYCLE, *BACKFILL}

    # 3. Scores go missing for a cycle whose calls have matured: the sensor notices and scores.
    with warehouse.connect(env["WORKSHOP_DB"]) as conn:
        conn.execute("delete from prediction_scores where cycle_key = ?", [CYCLE])

    def sensor_run_for_cycle():
        runs = client._execute(SENSOR_RUNS)["runsOrError"]["results"]
        return [
            r
            for r in runs
            if r["status"] == "SUCCESS"
            and {"key": "dagster/partition", "value": CYCLE} in r["tags"]
        ]

    _wait(sensor_run_for_cycle, 240, f"the scoring sensor's run for {CYCLE}", every=3)
    with duckdb.connect(env["WORKSHOP_DB"], read_only=True) as conn:
        n = conn.execute(
            "select count(*) from prediction_scores where cycle_key = ? and status = 'scored'",
            [CYCLE],
        ).fetchone()[0]
    assert n >= 1
