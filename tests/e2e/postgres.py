"""A real PostgreSQL server (Debian's package) on 127.0.0.1 for one test session, torn down after.

initdb refuses to run as root, so as root the cluster is created and started as the `postgres`
system user in a directory it owns."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "workshop-test-only"


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    bin_dir: Path

    def psql(self, database: str, sql: str) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user]
            + ["-d", database, "-At", "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        message = "needs Debian's postgresql (`apt-get install postgresql`; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(found[-1]).parent


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def running_postgres(port: int) -> Iterator[Postgres]:
    bin_dir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="workshop-pg-"))
    data = root / "data"
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    log = root / "server.log"
    try:
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres"]
                + ["--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
                + ["-w", "-t", "60", "start"]
            ),
            check=True,
            capture_output=True,
        )
        server = Postgres("127.0.0.1", port, "postgres", PASSWORD, bin_dir)
        try:
            server.psql("postgres", "create database dagster")
            yield server
        finally:
            subprocess.run(
                _as_server_user(
                    [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
                ),
                capture_output=True,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
