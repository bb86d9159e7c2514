"""A real PostgreSQL server (Debian's package) on 127.0.0.1 for a test, torn down after: the
package's own `commands/local_servers.Postgres` (what `make cluster` starts) in a temporary
folder, with the `dagster` database made."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.processes import missing
from workshop_dagster.commands import local_servers
from workshop_dagster.commands.local_servers import Postgres

PASSWORD = "workshop-test-only"
__all__ = ["PASSWORD", "Postgres", "postgres_bin", "running_postgres"]


def postgres_bin() -> Path:
    """Debian's PostgreSQL programs, or skip (fail in CI) naming the package."""
    try:
        return local_servers.postgres_bin()
    except local_servers.ServerMissing as exc:
        missing(str(exc))


@contextmanager
def running_postgres(port: int) -> Iterator[Postgres]:
    postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="workshop-pg-"))
    server = Postgres(root, port, password=PASSWORD, fsync=False)
    try:
        server.start()
        try:
            server.psql("postgres", "create database dagster")
            yield server
        finally:
            server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
