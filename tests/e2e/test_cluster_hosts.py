"""Cluster mode on two worker hosts for real: network namespaces `hosta` and `hostb`, each with
its own address and hostname and one Celery worker, reach PostgreSQL (the Dagster instance and
the lake's catalog) and Redis (the broker) on this machine's bridge address; the runs are
launched from this machine. The loop and two variants are backfilled with steps on both hosts
(each step's host read from the run's events); then the faults a cluster has: a worker killed
with -9 in the middle of a step, a host cut off from the network and brought back, the broker
restarted and the catalog server restarted during a backfill. Each run either finishes or fails
within minutes naming its cause, a run of the same cycles again finishes, and every cycle's rows
are there once with the sealed chain verified. Skipped with the reason where namespaces, Redis
or PostgreSQL cannot be had (failed in CI)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.e2e.hosts import HostCluster, NoNamespaces, network_hosts
from tests.e2e.processes import BIN, env_with, missing, run, start
from workshop_dagster.commands import local_servers

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
HOSTS = ("hosta", "hostb")
VARIANTS = ("placebo", "no_feedback")
# Ranges of the tests' cadence (three cycles a day), one a test, so each counts its own cycles.
LOOP = ("2026-03-02-09:15", "2026-03-03-19:15")  # six cycles
KILLED = ("2026-03-16-09:15", "2026-03-27-19:15")  # 30: the deliberation lasts seconds
CUT_OFF = ("2026-03-30-09:15", "2026-04-10-19:15")
CUT_OFF_CYCLES = 27  # two weeks less Good Friday, an NYSE holiday
BROKER = ("2026-03-10-09:15", "2026-03-11-19:15")
CATALOG = ("2026-03-12-09:15", "2026-03-13-19:15")


def _needed() -> None:
    try:
        local_servers.redis_bin()
        local_servers.postgres_bin()
        with network_hosts(()):
            pass
    except (local_servers.ServerMissing, NoNamespaces) as exc:
        missing(str(exc))


@pytest.fixture(scope="module")
def cluster():
    _needed()
    # PostgreSQL runs as the `postgres` user, who cannot reach pytest's folders (root's).
    folder = Path(tempfile.mkdtemp(prefix="workshop-hosts-"))
    folder.chmod(0o755)
    try:
        with network_hosts(HOSTS) as (gateway, hosts):
            two = HostCluster(folder, gateway, hosts)
            two.extra_env = env_with({"WORKSHOP_NEWS_FEEDS": "none"})
            try:
                two.start()
                yield two
            finally:
                two.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _range_tags(first: str, last: str) -> str:
    return json.dumps(
        {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    )


def _job(env: dict[str, str], job: str, first: str, last: str) -> subprocess.Popen:
    """A backfill of `job` over first .. last in one run, launched from this machine."""
    command = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions"]
    return start([*command, "-j", job, "--tags", _range_tags(first, last)], env)


def _finished(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out, time.monotonic() - started


CHECK = """
import os, sys, json
from workshop_dagster.commands.verify import verify_warehouse
from workshop_dagster.store import warehouse
from workshop_dagster.store.tables import qualified
db, first, last = os.environ["WORKSHOP_DB"], sys.argv[1], sys.argv[2]
counts = {}
with warehouse.read_only(db) as conn:
    for schema in ["main", *sys.argv[3:]]:
        n, distinct = conn.execute(
            f"select count(*), count(distinct cycle_key) from {qualified('memo', schema)} "
            "where cycle_key between ? and ?", [first, last]).fetchone()
        assert n == distinct, f"{schema}: {n} memos for {distinct} cycles"
        problems = verify_warehouse(db, schema=schema)
        assert problems == [], problems
        counts[schema] = distinct
print(json.dumps(counts))
"""


def _memos_once_verified(env: dict[str, str], first: str, last: str, *variants: str) -> dict:
    code, out = run([str(BIN / "python"), "-c", CHECK, first, last, *variants], env, timeout=180)
    assert code == 0, out[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_the_loop_and_two_variants_run_their_steps_on_both_hosts(cluster):
    code, out, _ = _finished(_job(cluster.env, "cycle", *LOOP))
    assert code == 0, out[-4000:]
    variants = [_job(cluster.env, f"{v}_cycle", *LOOP) for v in VARIANTS]  # at once
    for proc in variants:
        code, out, _ = _finished(proc)
        assert code == 0, out[-4000:]

    runs = cluster.step_hosts()
    assert len(runs) == 3
    for name, hosts in runs.items():
        assert hosts and set(hosts.values()) <= set(HOSTS), (name, hosts)
    on = [h for hosts in runs.values() for h in hosts.values()]
    print("steps by host:", {h: on.count(h) for h in HOSTS})
    assert set(on) == set(HOSTS), f"steps ran on {set(on)} only"
    assert _memos_once_verified(cluster.env, *LOOP, *VARIANTS) == {
        "main": 6,
        "placebo": 6,
        "no_feedback": 6,
    }


def test_a_worker_killed_mid_step_fails_its_run_within_a_minute_and_a_rerun_finishes(cluster):
    backfill = _job(cluster.env, "cycle", *KILLED)
    host = cluster.busy_host("deliberation")
    killed_at = time.monotonic()
    cluster.kill_worker(host)
    code, out, _ = _finished(backfill, timeout=300)
    failed_after = time.monotonic() - killed_at
    assert code != 0, out[-4000:]
    assert f"the Celery worker worker@{host} stopped answering" in out, out[-4000:]
    assert failed_after < 120, f"the run failed {failed_after:.0f} s after the kill"
    print(f"failed {failed_after:.0f} s after worker@{host} was killed")

    cluster.start_worker(host)
    cluster.wait_for_workers(set(HOSTS))
    code, out, _ = _finished(_job(cluster.env, "cycle", *KILLED))
    assert code == 0, out[-4000:]
    assert _memos_once_verified(cluster.env, *KILLED) == {"main": 30}


def test_a_host_cut_off_mid_step_fails_its_run_and_after_it_is_back_a_rerun_finishes(cluster):
    backfill = _job(cluster.env, "cycle", *CUT_OFF)
    host = cluster.busy_host("deliberation")
    cluster.hosts[host].cut_off()
    try:
        code, out, seconds = _finished(backfill, timeout=300)
    finally:
        cluster.hosts[host].reconnect()
    assert code != 0, out[-4000:]
    assert f"the Celery worker worker@{host} stopped answering" in out, out[-4000:]
    print(f"failed {seconds:.0f} s after the run began, worker@{host} cut off")

    cluster.wait_for_workers(set(HOSTS))  # the same worker, back on the network
    code, out, _ = _finished(_job(cluster.env, "cycle", *CUT_OFF))
    assert code == 0, out[-4000:]
    assert _memos_once_verified(cluster.env, *CUT_OFF) == {"main": CUT_OFF_CYCLES}


def test_a_broker_restarted_during_a_backfill_loses_no_step(cluster):
    backfill = _job(cluster.env, "cycle", *BROKER)
    cluster.busy_host()
    cluster.redis.stop()  # SIGTERM: its append-only file is written
    time.sleep(2)
    cluster.redis.start()
    code, out, _ = _finished(backfill, timeout=300)
    assert code == 0, out[-4000:]
    assert _memos_once_verified(cluster.env, *BROKER) == {"main": 6}


def test_the_catalog_server_restarted_during_a_backfill_fails_clearly_or_finishes(cluster):
    backfill = _job(cluster.env, "cycle", *CATALOG)
    cluster.busy_host()
    cluster.pg.stop("fast")
    time.sleep(2)
    cluster.pg.start()
    code, out, _ = _finished(backfill, timeout=300)
    print("the run during the catalog's restart:", "finished" if code == 0 else out[-1500:])
    if code != 0:
        code, out, _ = _finished(_job(cluster.env, "cycle", *CATALOG))
        assert code == 0, out[-4000:]
    assert _memos_once_verified(cluster.env, *CATALOG) == {"main": 6}
