"""Cluster mode set by configuration (WORKSHOP_EXECUTOR=celery): a real Redis on 127.0.0.1 (Debian's
redis-server, which .ci/run installs), two dagster-celery workers, and a backfill of the loop
launched from the CLI whose every step runs on a worker (the run's events name it), every
cycle's rows once and the sealed chain verified. One host here; skipped with the reason where
redis-server is missing (failed in CI)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.dagster_dev import free_port, port_free
from tests.e2e.processes import BIN, PROJECT, env_with, missing, run, start
from workshop_dagster.commands import local_servers
from workshop_dagster.lib.executor import celery_yaml

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
CYCLES = ("2026-03-02-09:15", "2026-03-03-19:15")  # a range: six cycles at the tests' cadence
WORKERS = ("first", "second")


def needs_redis_server() -> None:
    """Debian's redis-server, or skip (fail in CI) naming the package."""
    try:
        local_servers.redis_bin()
    except local_servers.ServerMissing as exc:
        missing(str(exc))


def _celery_env(folder: Path, broker: str) -> dict[str, str]:
    """A fresh instance, data folder and file warehouse in `folder`, steps on Celery."""
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    return env_with(
        {
            "DAGSTER_HOME": str(home),
            "WORKSHOP_DATA_DIR": str(folder / "data"),
            "WORKSHOP_DB": str(folder / "data" / "workshop.duckdb"),
            "WORKSHOP_NEWS_FEEDS": "none",
            "WORKSHOP_EXECUTOR": "celery",
            "WORKSHOP_CELERY_BROKER": broker,
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Redis, a Dagster instance and warehouse in a temporary folder, two Celery workers."""
    needs_redis_server()
    folder = tmp_path_factory.mktemp("cluster")
    redis = local_servers.Redis(folder / "redis", free_port()).start()
    env = _celery_env(folder, redis.url)
    config = folder / "celery.yaml"
    config.write_text(yaml.safe_dump(celery_yaml(redis.url)))
    workers = []
    try:
        # The instance's storage made once: two workers creating a fresh SQLite instance at
        # the same moment race on its tables.
        code, out = run([str(BIN / "dagster"), "instance", "info"], env, timeout=120)
        assert code == 0, out[-2000:]
        for name in WORKERS:
            workers.append(
                start(
                    [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
                    + ["-y", str(config), "-n", name, "--", "--concurrency", "1"],
                    env,
                )
            )
        _wait_for_workers(workers)
        yield env
    finally:
        for proc in workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        redis.stop()


def _wait_for_workers(workers, timeout: float = 90) -> None:
    """Each worker's log says it is ready (its stdout read line by line until then)."""
    deadline = time.monotonic() + timeout
    for proc in workers:
        seen = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            seen.append(line)
            if " ready." in line:
                break
            if not line and proc.poll() is not None:
                pytest.fail("a Celery worker exited:\n" + "".join(seen[-30:]))
        else:
            pytest.fail("a Celery worker was not ready in time:\n" + "".join(seen[-30:]))


def _backfill(env: dict[str, str], first: str, last: str, expect_failure: bool = False) -> str:
    """The `cycle` job over first .. last in one run, from the CLI; its output."""
    tags = (
        f'{{"dagster/asset_partition_range_start": "{first}", '
        f'"dagster/asset_partition_range_end": "{last}"}}'
    )
    job = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions"]
    code, out = run([*job, "-j", "cycle", "--tags", tags], env, timeout=420)
    assert (code != 0) if expect_failure else (code == 0), out[-4000:]
    return out


CHECK = """
import os
from workshop_dagster.commands.verify import verify_warehouse
from workshop_dagster.store import warehouse
db = os.environ["WORKSHOP_DB"]
with warehouse.read_only(db) as conn:
    n, distinct = conn.execute("select count(*), count(distinct cycle_key) from memo").fetchone()
assert n == distinct, f"{n} memos for {distinct} cycles"
assert verify_warehouse(db) == []
print(distinct)
"""


def _cycles_with_a_memo_verified(env: dict[str, str]) -> int:
    """The cycles with a memo (each once) in the warehouse of `env`, its record verified."""
    code, out = run([str(BIN / "python"), "-c", CHECK], env, timeout=120)
    assert code == 0, out[-3000:]
    return int(out.strip().splitlines()[-1])


def test_a_backfill_runs_every_step_on_the_celery_workers(cluster):
    _backfill(cluster, *CYCLES)

    import dagster as dg

    os.environ["DAGSTER_HOME"] = cluster["DAGSTER_HOME"]
    instance = dg.DagsterInstance.get()
    try:
        (record,) = instance.get_run_records()
        events = instance.all_logs(record.dagster_run.run_id)
        # The broker's URL reaches the executor through its variable, never the run's stored
        # configuration or the job's snapshot (a broker URL may carry a password).
        snapshot = instance.get_job_snapshot(record.dagster_run.job_snapshot_id)
        stored = repr(record.dagster_run.run_config) + repr(snapshot)
        assert cluster["WORKSHOP_CELERY_BROKER"] not in stored
    finally:
        instance.dispose()
    ran_on = {}
    for event in events:
        dagster_event = event.dagster_event
        if dagster_event is None or not dagster_event.is_engine_event:
            continue
        data = dagster_event.engine_event_data
        if "Celery worker" in (data.metadata or {}):
            ran_on[event.step_key] = data.metadata["Celery worker"].value
    steps = {e.step_key for e in events if e.dagster_event and e.dagster_event.is_step_success}
    assert steps and steps <= set(ran_on), f"steps not on a worker: {steps - set(ran_on)}"
    assert {w.split("@")[0] for w in ran_on.values()} <= set(WORKERS)
    assert "deliberation" in steps
    print(
        "steps by worker:", {w: sum(v == w for v in ran_on.values()) for w in set(ran_on.values())}
    )

    assert _cycles_with_a_memo_verified(cluster) == 6


def test_make_cluster_runs_a_backfill_on_its_workers_and_stops_everything(tmp_path):
    """`python -m workshop_dagster.commands.cluster` (make cluster): PostgreSQL, Redis, two
    workers and dagster dev; a backfill launched from the CLI with its env.sh runs every step
    on a worker, the instance in PostgreSQL and the warehouse a lake; SIGTERM, then a second
    signal while it stops, leaves no process and no port behind."""
    import urllib.request

    from tests.e2e.dagster_dev import wait_for
    from tests.e2e.postgres import postgres_bin

    postgres_bin()
    needs_redis_server()
    ui, pg, redis = free_port(), free_port(), free_port()
    # PostgreSQL runs as the `postgres` user, who cannot reach pytest's folders (root's).
    folder = Path(tempfile.mkdtemp(prefix="workshop-cluster-")) / "cluster"
    folder.parent.chmod(0o755)
    command = [str(BIN / "python"), "-m", "workshop_dagster.commands.cluster", "--folder"]
    cluster = start(
        [
            *command,
            str(folder),
            "--port",
            str(ui),
            "--pg-port",
            str(pg),
            "--redis-port",
            str(redis),
        ],
        env_with({}),
    )
    try:

        def up():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/server_info", timeout=2):
                    return True
            except OSError:
                assert cluster.poll() is None, cluster.stdout.read()[-3000:]
                return False

        wait_for(up, 180, "make cluster's UI")
        env = env_with({})
        for line in (folder / "env.sh").read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            env[key] = value.strip("'")
        assert oct((folder / "env.sh").stat().st_mode)[-3:] == "600"
        out = _backfill(env, CYCLES[0], "2026-03-02-19:15")
        assert out.count("Submitting celery task") >= 10
        assert _cycles_with_a_memo_verified(env) == 3
        assert env["WORKSHOP_DB"].startswith("ducklake:postgres:")
        assert list((folder / "lake").rglob("*.parquet"))
    finally:
        cluster.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        if cluster.poll() is None:
            cluster.send_signal(signal.SIGINT)  # a second signal while it stops
        try:
            out, _ = cluster.communicate(timeout=90)
        finally:
            if cluster.poll() is None:
                os.killpg(cluster.pid, signal.SIGKILL)
    assert cluster.returncode == 0, out[-3000:]
    assert "cluster: stopped" in out
    for port in (ui, pg, redis):
        assert port_free(port), f"port {port} still answers"
    leftover = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True)
    assert not leftover.stdout.strip(), leftover.stdout
    shutil.rmtree(folder.parent, ignore_errors=True)


@pytest.mark.parametrize("broker_up", [False, True], ids=["broker down", "no worker"])
def test_a_run_with_no_worker_to_take_its_steps_fails_at_once_saying_why(tmp_path, broker_up):
    """Without the check, a dead broker failed the run after half a minute in Celery's words, and
    a broker with no worker left the run waiting for ever; now it fails before any step."""
    needs_redis_server()
    redis = local_servers.Redis(tmp_path / "redis", free_port())
    if broker_up:
        redis.start()
    env = _celery_env(tmp_path, redis.url)
    try:
        started = time.monotonic()
        out = _backfill(env, CYCLES[0], CYCLES[0], expect_failure=True)
        assert time.monotonic() - started < 90
    finally:
        redis.stop()
    says = "no Celery worker answered" if broker_up else "broker of WORKSHOP_CELERY_BROKER does not"
    assert says in out, out[-3000:]
    assert not (tmp_path / "data" / "workshop.duckdb").exists()  # nothing written


def test_a_worker_started_with_other_settings_is_refused_before_any_step(tmp_path):
    """A worker with another WORKSHOP_CYCLE_CRON would load another code location and write
    its steps by other rules; the run fails before its first step naming the worker and the
    setting (not its value), nothing written."""
    needs_redis_server()
    redis = local_servers.Redis(tmp_path / "redis", free_port()).start()
    env = _celery_env(tmp_path, redis.url)
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump(celery_yaml(redis.url)))
    code, out = run([str(BIN / "dagster"), "instance", "info"], env, timeout=120)
    assert code == 0, out[-2000:]
    other = {**env, "WORKSHOP_CYCLE_CRON": "15 10 * * 1-5"}
    worker = start(
        [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
        + ["-y", str(config), "-n", "stray", "--", "--concurrency", "1"],
        other,
    )
    try:
        _wait_for_workers([worker])
        out = _backfill(env, CYCLES[0], CYCLES[0], expect_failure=True)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        redis.stop()
    assert "stray@" in out and "runs with other WORKSHOP_CYCLE_CRON" in out, out[-3000:]
    assert "15 10" not in out.split("runs with other")[-1][:200]
    assert not (tmp_path / "data" / "workshop.duckdb").exists()  # nothing written
