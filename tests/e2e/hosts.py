"""Worker hosts as Linux network namespaces: each has its own network stack, address and
hostname (`unshare --uts`), joined to this machine by a veth pair on a bridge whose address is
the servers' (PostgreSQL, Redis). A host is cut off by setting its link down. The hosts share
this machine's files, as hosts of a cluster share a network file system (the code, the lake's
data folder); everything else they reach over the network. Needs root and `ip` (iproute2).
`HostCluster` puts the servers on the bridge and a Celery worker on each host (the tests of
tests/e2e/test_cluster_hosts.py, benchmarks/cluster_scaling.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workshop_dagster.commands import local_servers
from workshop_dagster.commands.cluster import prepare

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class NoNamespaces(RuntimeError):
    """This machine cannot make network namespaces (not root, or no iproute2)."""


@dataclass(frozen=True)
class Host:
    name: str  # its hostname, which a Celery worker's name ends with
    namespace: str
    address: str
    link: str  # this machine's end of its veth pair

    def command(self, args: list[str]) -> list[str]:
        """`args` run on this host: in its namespace, under its own hostname."""
        script = f'hostname {self.name} && exec "$@"'
        return [
            *("ip", "netns", "exec", self.namespace, "unshare", "--uts"),
            *("sh", "-c", script, "sh", *args),
        ]

    def cut_off(self) -> None:
        _ip("link", "set", self.link, "down")

    def reconnect(self) -> None:
        _ip("link", "set", self.link, "up")


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise NoNamespaces(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")


@contextmanager
def network_hosts(names: tuple[str, ...]) -> Iterator[tuple[str, list[Host]]]:
    """The servers' address on the bridge, and a host per name; all removed afterwards."""
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"):
        raise NoNamespaces("network namespaces need root, `ip` (iproute2) and `unshare`")
    tag = os.getpid() % 100000
    net = f"10.{200 + tag % 50}.{tag % 250}"
    bridge = f"wsbr{tag}"
    hosts = [
        Host(name, f"ws{tag}{name}", f"{net}.{10 + i}", f"ws{tag}h{i}")
        for i, name in enumerate(names)
    ]
    made: list[str] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        made.append(bridge)
        _ip("addr", "add", f"{net}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for host in hosts:
            _ip("netns", "add", host.namespace)
            made.append(host.namespace)
            peer = ("peer", "name", "eth0", "netns", host.namespace)
            _ip("link", "add", host.link, "type", "veth", *peer)
            _ip("link", "set", host.link, "master", bridge, "up")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        yield f"{net}.1", hosts
    finally:
        for host in hosts:
            if host.namespace in made:
                subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)


class HostCluster:
    """PostgreSQL and Redis on the bridge, a Celery worker on each host (pinned to a core of
    its own with `cpus`), and how to reach and hurt them."""

    def __init__(
        self, folder: Path, gateway: str, hosts: list[Host], cpus: dict[str, int] | None = None
    ):
        self.folder = folder
        self.hosts = {h.name: h for h in hosts}
        self.cpus = cpus or {}
        self.pg = local_servers.Postgres(
            folder / "postgres",
            local_servers.free_port(),
            host=gateway,
            also_listen="127.0.0.1",
            clients=f"{gateway.rsplit('.', 1)[0]}.0/24",
            fsync=False,
        )
        self.redis = local_servers.Redis(
            folder / "redis", local_servers.free_port(), persist=True, also_bind=gateway
        )
        self.workers: dict[str, subprocess.Popen] = {}
        self.env: dict[str, str] = {}
        # Set before `start`: settings beyond the cluster's (a test's cadence, no news feeds).
        self.extra_env: dict[str, str] = {}

    def start(self) -> None:
        self.pg.start()
        self.redis.start()
        (self.folder / "logs").mkdir()
        prepared = prepare(self.folder, self.pg, self.redis)
        shared = ("WORKSHOP_", "DAGSTER_", "PGPASSWORD", "PATH")
        settings = {k: v for k, v in prepared.items() if k.startswith(shared)}
        base = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_")}
        self.env = {**base, **self.extra_env, **settings}
        for name in self.hosts:
            self.start_worker(name)
        self.wait_for_workers(set(self.hosts))

    def start_worker(self, name: str) -> None:
        command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
        command += ["-y", str(self.folder / "celery.yaml"), "-n", "worker"]
        command += ["--", "--concurrency", "1"]
        if name in self.cpus:  # the host a one-core machine
            command = ["taskset", "-c", str(self.cpus[name]), *command]
        with open(self.folder / "logs" / f"{name}.log", "ab") as log:
            self.workers[name] = subprocess.Popen(
                self.hosts[name].command(command),
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill_worker(self, name: str) -> None:
        proc = self.workers[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def state(self) -> dict:
        """Which workers answer and what each is running, asked through the broker from here
        (over 127.0.0.1, where Redis listens too: the tests' network guard allows only that)."""
        from celery import Celery

        url = self.redis.url.replace(self.redis.host, "127.0.0.1")
        for attempt in (1, 2):  # a connection kept from before a restart of the broker
            app = Celery("test", broker=url, backend=url)
            try:
                inspect = app.control.inspect(timeout=1, limit=len(self.hosts))
                return {"ping": inspect.ping() or {}, "active": inspect.active() or {}}
            except Exception:  # redis' ConnectionError, or kombu's wrapping of it
                if attempt == 2:
                    raise
            finally:
                app.close()
        raise AssertionError("unreachable")

    def wait_for_workers(self, names: set[str], timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answered = {w.split("@")[1] for w in self.state()["ping"]}
            if names <= answered:
                return
            for name, proc in self.workers.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"the worker on {name} exited: {self.log(name)}")
            time.sleep(1)
        raise TimeoutError(f"workers on {names} did not answer in time")

    def busy_host(self, step: str = "", timeout: float = 120) -> str:
        """A host whose worker is running a step now (`step`, if named)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for worker, tasks in self.state()["active"].items():
                if any(f'"{step}' in json.dumps(task.get("kwargs")) for task in tasks):
                    return worker.split("@")[1]
            time.sleep(0.1)
        raise TimeoutError(f"no worker took a step{' ' + step if step else ''}")

    def log(self, name: str) -> str:
        return (self.folder / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for name in list(self.workers):
            self.kill_worker(name)
        self.redis.stop()
        self.pg.stop("immediate")

    def step_hosts(self) -> dict[str, dict[str, str]]:
        """Each run's steps and the host whose worker ran each, from the run's events (the
        "Celery worker" of dagster-celery's "Executing steps" event)."""
        done = subprocess.run(
            [str(BIN / "python"), "-c", STEP_HOSTS],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        return json.loads(done.stdout.strip().splitlines()[-1])


STEP_HOSTS = """
import json, dagster as dg
instance = dg.DagsterInstance.get()
out = {}
for record in instance.get_run_records():
    run = record.dagster_run
    hosts = {}
    for e in instance.all_logs(run.run_id):
        d = e.dagster_event
        if d is not None and d.is_engine_event:
            meta = d.engine_event_data.metadata or {}
            if "Celery worker" in meta:
                hosts[e.step_key] = meta["Celery worker"].value.split("@")[1]
    out[run.job_name + " " + run.run_id] = hosts
instance.dispose()
print(json.dumps(out))
"""
