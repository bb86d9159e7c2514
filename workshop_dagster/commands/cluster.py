"""`make cluster`: cluster mode on this machine, to try it. PostgreSQL on 127.0.0.1 holds the
Dagster instance and the lake's catalog, Redis is the Celery broker, two Celery workers execute
the steps, and `dagster dev` (the UI and the daemon) runs against them; the warehouse is a
DuckLake whose files are in the folder. Everything lives in the data folder's `cluster/` (kept
between starts: the runs, the lake, the instance); `cluster/env.sh` exports the settings, so
`. data/cluster/env.sh && make backfill FROM=… TO=…` runs on the cluster from another shell.
Ctrl-C (or SIGTERM) stops everything it started, the UI first and PostgreSQL last.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import yaml

from ..config.settings import PROJECT_ROOT, SettingsError, load_settings
from ..lib.executor import celery_yaml
from .local_servers import Postgres, Redis, ServerFailed, ServerMissing, write_private

# The instance's storage in PostgreSQL, as docs/operations.md ("Outgrowing one machine") tells
# users to write it (tests/unit/test_cluster_command.py holds the two together).
POSTGRES_STORAGE = {
    "storage": {
        "postgres": {
            "postgres_db": {
                "hostname": {"env": "DAGSTER_PG_HOST"},
                "port": {"env": "DAGSTER_PG_PORT"},
                "username": {"env": "DAGSTER_PG_USER"},
                "password": {"env": "DAGSTER_PG_PASSWORD"},
                "db_name": "dagster",
                "scheme": "postgresql+psycopg2",
            }
        }
    }
}
LAKE_DATABASE = "workshop_lake"
BIN = Path(sys.executable).parent


def instance_yaml() -> dict:
    """The project's dagster.yaml with the PostgreSQL storage in place of its SQLite event log."""
    instance = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    instance.pop("event_log_storage", None)
    return instance | POSTGRES_STORAGE


def cluster_env(folder: Path, pg: Postgres, redis: Redis) -> dict[str, str]:
    """The settings every process of the cluster shares (the UI, the daemon, the workers, a
    CLI run): the instance, the lake, the executor."""
    return {
        "DAGSTER_HOME": str(folder / "dagster_home"),
        "DAGSTER_PG_HOST": pg.host,
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_USER": pg.user,
        "DAGSTER_PG_PASSWORD": pg.password,
        "PGPASSWORD": pg.password,
        "WORKSHOP_DATA_DIR": str(folder / "data"),
        "WORKSHOP_DB": f"ducklake:postgres:dbname={LAKE_DATABASE} host={pg.host} "
        f"port={pg.port} user={pg.user}",
        "WORKSHOP_LAKE_DATA": str(folder / "lake"),
        "WORKSHOP_EXECUTOR": "celery",
        "WORKSHOP_CELERY_BROKER": redis.url,
    }


def prepare(folder: Path, pg: Postgres, redis: Redis) -> dict[str, str]:
    """Make the instance and the lake's catalog on running servers, write `env.sh` and
    `celery.yaml` (0600) in `folder`, set the pools; the environment every process of the
    cluster runs with (the workers on other hosts too)."""
    for name in ("dagster", LAKE_DATABASE):
        pg.ensure_database(name)
    settings = cluster_env(folder, pg, redis)
    home = Path(settings["DAGSTER_HOME"])
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(), sort_keys=False))
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in settings.items())
    write_private(folder / "env.sh", exports)
    write_private(folder / "celery.yaml", yaml.safe_dump(celery_yaml(redis.url)))
    env = {**os.environ, **settings, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    try:
        load_settings(env)  # every setting checked before anything runs with it
    except SettingsError as exc:
        raise SystemExit(f"cluster: {exc}") from None
    dagster = str(BIN / "dagster")
    subprocess.run([dagster, "instance", "info"], env=env, check=True, capture_output=True)
    for pool, limit in (("duckdb", "4"), ("llm", os.environ.get("WORKSHOP_LLM_POOL_LIMIT", "2"))):
        subprocess.run(
            [dagster, "instance", "concurrency", "set", pool, limit],
            env=env,
            check=True,
            capture_output=True,
        )
    return env


class Cluster:
    """The servers and processes of one local cluster, stopped in reverse order."""

    def __init__(self, folder: Path, workers: int, ui_port: int, pg_port: int, redis_port: int):
        self.folder = folder
        self.workers = workers
        self.ui_port = ui_port
        self.pg = Postgres(folder / "postgres", pg_port)
        self.redis = Redis(folder / "redis", redis_port, persist=True)
        self.procs: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "logs").mkdir(exist_ok=True)
        self.pg.start()
        self.redis.start()
        self.env = prepare(self.folder, self.pg, self.redis)
        for i in range(1, self.workers + 1):
            self._spawn(
                f"worker{i}",
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
                + ["-y", str(self.folder / "celery.yaml"), "-n", f"worker{i}"]
                + ["--", "--concurrency", "1"],
            )
        self._spawn(
            "dagster_dev",
            [str(BIN / "dg"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1"]
            + ["-p", str(self.ui_port)],
        )

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.folder / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child's
        self.procs.append(
            subprocess.Popen(
                args,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()

    def wait(self) -> int:
        """Until a signal, or until a process of the cluster ends (its exit code)."""
        while True:
            for proc in self.procs:
                if proc.poll() is not None:
                    return proc.returncode or 1
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in reversed(self.procs):  # the UI and daemon first, then the workers
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.redis.stop()
        with suppress(ServerMissing):
            self.pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--port", type=int, default=3000, help="the UI's port (default 3000)")
    parser.add_argument("--pg-port", type=int, default=55432, help="PostgreSQL's (55432)")
    parser.add_argument("--redis-port", type=int, default=56379, help="Redis's (56379)")
    parser.add_argument(
        "--folder", type=Path, default=None, help="where it all lives (default: data/cluster)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 16:
        parser.error("--workers must be 1 to 16")
    folder = (args.folder or load_settings().data_dir / "cluster").expanduser().resolve()
    cluster = Cluster(folder, args.workers, args.port, args.pg_port, args.redis_port)
    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.start()
        print(
            f"cluster: the UI on http://127.0.0.1:{args.port}, {args.workers} Celery workers, "
            f"PostgreSQL on 127.0.0.1:{args.pg_port}, Redis on 127.0.0.1:{args.redis_port}; "
            f"logs in {folder / 'logs'}; `. {folder / 'env.sh'}` in another shell runs the CLI "
            "on it. Ctrl-C stops it all.",
            flush=True,
        )
        code = cluster.wait()
        print(f"cluster: a process ended (exit {code}); stopping the rest", file=sys.stderr)
    except KeyboardInterrupt:
        code = 0
    except (ServerMissing, ServerFailed) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        code = 2
    finally:
        # A second Ctrl-C (or the signal a wrapper forwards) must not cut the stop short and
        # leave servers running: from here the signals wait.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        cluster.stop()
    print("cluster: stopped", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
