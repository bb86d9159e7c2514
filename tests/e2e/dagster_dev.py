"""`dagster dev` (webserver and daemon) started for real on 127.0.0.1, and the GraphQL calls the
UI makes to launch runs and backfills and to watch them finish."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.processes import BIN, PROJECT, env_with
from workshop_dagster.commands.local_servers import free_port

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
FINISHED_BACKFILL = ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED", "CANCELED")
BACKFILL_RUNS = """query($id: String!) {
  runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
    ... on Runs { results { runId status } } } }"""


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wait_for(predicate: Callable, timeout: float, what: str, every: float = 1.0):
    """The predicate's first truthy value, or an AssertionError naming what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class DagsterDev:
    url: str
    port: int
    env: dict[str, str]
    log: Path

    @property
    def client(self):
        from dagster_graphql import DagsterGraphQLClient

        return DagsterGraphQLClient("127.0.0.1", port_number=self.port)

    def query(self, text: str, variables: dict | None = None) -> dict:
        return self.client._execute(text, variables or {})

    def run_status(self, run_id: str) -> str:
        return self.query(RUN_STATUS, {"id": run_id})["runOrError"]["status"]

    def wait_for_run(self, run_id: str, timeout: float = 240) -> str:
        def finished():
            status = self.run_status(run_id)
            return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

        return wait_for(finished, timeout, f"run {run_id}")

    def launch_cycle(self, cycle_key: str) -> str:
        return self.client.submit_job_execution("cycle", tags={"dagster/partition": cycle_key})

    def launch_backfill(self, cycle_keys: list[str]) -> str:
        params = {
            "selector": {
                "repositorySelector": {
                    "repositoryLocationName": "workshop",
                    "repositoryName": "__repository__",
                },
                "partitionSetName": "cycle_partition_set",
            },
            "partitionNames": cycle_keys,
        }
        launched = self.query(BACKFILL_MUTATION, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def launch_asset_backfill(self, asset_keys: list[list[str]], cycle_keys: list[str]) -> str:
        """A backfill of some assets over some cycles, as the UI's *Materialize* of a selection
        over a range launches it (the daemon runs it)."""
        params = {
            "assetSelection": [{"path": path} for path in asset_keys],
            "partitionNames": cycle_keys,
        }
        launched = self.query(BACKFILL_MUTATION, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def wait_for_backfill(self, backfill_id: str, timeout: float = 300) -> str:
        def finished():
            # A loaded webserver may answer with an error type for a moment (its storage busy
            # with the daemon's writes): asked again, until the timeout names the backfill.
            found = self.query(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
            status = found.get("status")
            return status if status in FINISHED_BACKFILL else None

        return wait_for(finished, timeout, f"backfill {backfill_id}", every=3)

    def wait_for_backfill_runs(self, backfill_id: str, n: int, timeout: float = 300) -> list[str]:
        """The ids of the `n` runs a backfill launched, once each has succeeded (a failed one
        fails at once). The daemon marks the backfill itself completed at its next tick, up to
        30 s later: a test goes on, and reads the backfill's status when it needs it."""

        def succeeded():
            runs = self.query(BACKFILL_RUNS, {"id": backfill_id})["runsOrError"]["results"]
            failed = [r["runId"] for r in runs if r["status"] in ("FAILURE", "CANCELED")]
            assert not failed, f"backfill {backfill_id}: runs {failed} did not succeed"
            done = [r["runId"] for r in runs if r["status"] == "SUCCESS"]
            return done if len(done) >= n else None

        return wait_for(succeeded, timeout, f"the {n} runs of backfill {backfill_id}", every=2)


@contextmanager
def running_dagster_dev(
    workshop_env: dict[str, str], dagster_home: bool = True
) -> Iterator[DagsterDev]:
    """`dagster dev -h 127.0.0.1` on a free port, in the project folder; the whole process group
    is stopped after. Without `dagster_home`, DAGSTER_HOME is not set, as for a user who runs
    `dagster dev` in the project folder: Dagster makes a temporary instance there, configured by
    the project's dagster.yaml (and removes it when it stops)."""
    port = free_port()
    env = env_with(workshop_env)
    if not dagster_home:
        env.pop("DAGSTER_HOME", None)
    temporary_before = set(PROJECT.glob(".tmp_dagster_home_*"))
    log_path = Path(workshop_env["DAGSTER_HOME"]) / "dagster-dev.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(BIN / "dg"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"] + ["-p", str(port)],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"dagster dev exited:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        # The temporary instance this `dagster dev` made (none with a DAGSTER_HOME): only it is
        # removed after, never another test's running at the same time in the project folder
        # (removing every new one, a test with a DAGSTER_HOME once deleted the instance of a
        # `dagster dev` started beside it, whose runs then vanished).
        created: set[Path] = set()
        try:
            wait_for(up, 120, "dagster dev to answer /server_info")
            if not dagster_home:
                created = set(PROJECT.glob(".tmp_dagster_home_*")) - temporary_before
            yield DagsterDev(url=url, port=port, env=workshop_env, log=log_path)
        finally:
            # SIGTERM to the group (it has its own session) stops the five processes in a few
            # seconds and lets Dagster remove its temporary instance; SIGKILL if it does not
            # (on a loaded 2-core CI machine it once waited the whole 30 s it was given; the
            # temporary instance is removed below either way).
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # any child left behind
            wait_for(lambda: port_free(port), 30, "the port to be released")
            for left in created:
                shutil.rmtree(left, ignore_errors=True)


def temporary_workshop_env(
    root: Path, dagster_yaml: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """A warehouse, data folder and DAGSTER_HOME under `root`, its instance storage created once
    (two processes creating a fresh SQLite instance at the same moment race on its tables)."""
    import dagster as dg

    home = root / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(dagster_yaml or (PROJECT / "dagster.yaml").read_text())
    env = {
        "DAGSTER_HOME": str(home),
        "WORKSHOP_DATA_DIR": str(root / "data"),
        "WORKSHOP_DB": str(root / "data" / "workshop.duckdb"),
        **(extra or {}),
    }
    previous = os.environ.copy()
    os.environ.update(env)  # `{env: ...}` values in dagster.yaml resolve from the environment
    try:
        dg.DagsterInstance.from_config(str(home)).dispose()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    return env
