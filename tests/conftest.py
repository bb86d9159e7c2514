"""Shared fixtures: the workplace's real data, temporary warehouses and a network guard."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

# The tests run their cycles on three a trading day (09:15, 12:15, 19:15: each also a cycle of
# the default cadence), so a range "09:15 .. 19:15" is three cycles, not fifteen; set before the
# definitions are imported, and passed to the processes the end-to-end tests start
# (`tests/e2e/processes.env_with`). The default cadence has its own tests: the e2e demo (which
# drops it), tests/unit/test_partitions.py, the schedule's, and the benchmarks' tiny runs.
TESTS_CYCLE_CRON = "15 9,12,19 * * 1-5"
os.environ.setdefault("WORKSHOP_CYCLE_CRON", TESTS_CYCLE_CRON)

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
SHARED_DATA = SHARED / "data"
SHARED_MARKET = SHARED_DATA / "market"
SEEDS = SHARED / "seeds"


# The files whose tests take longest (most of it waiting on daemons, servers and subprocesses),
# run first: `make test` hands files to its workers in collection order (`--dist loadfile
# --no-loadscope-reorder`), and one of these started last would be the suite's tail.
SLOWEST_FIRST = (
    # Waiting on daemons and servers, then busy with processes, alternately: the waits of one
    # overlap the work of the next.
    "tests/e2e/test_dagster_dev.py",
    "tests/e2e/test_warehouse_safety.py",
    "tests/e2e/test_postgres_instance.py",
    "tests/e2e/test_benchmark_backfills.py",
    "tests/integration/test_claude.py",
    "tests/e2e/test_evaluation.py",
    "tests/e2e/test_benchmarks.py",
    "tests/e2e/test_dead_runs.py",
    "tests/unit/test_quality_worker.py",
    "tests/e2e/test_cli.py",
    "tests/e2e/test_demo_week.py",
    "tests/e2e/test_site.py",
    "tests/integration/test_loop.py",
    "tests/integration/test_variants_side_by_side.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest files first (SLOWEST_FIRST), the others after them in their own order."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def shared_path(path: Path) -> Path:
    """A path under ../shared, or skip the test: a clone outside this workplace has none."""
    if not path.exists():
        pytest.skip(f"needs {path} (../shared is only beside the project in this workplace)")
    return path


@pytest.fixture
def shared_market() -> Path:
    return shared_path(SHARED_MARKET)


@pytest.fixture
def shared_market_without_news(tmp_path_factory) -> Path:
    """The shared market folder without its news/ (links to its prices and rates): a replay
    where no headline lands, as a folder of prices alone is."""
    source = shared_path(SHARED_MARKET)
    folder = tmp_path_factory.mktemp("market_without_news")
    for part in source.iterdir():
        if part.name != "news":
            (folder / part.name).symlink_to(part)
    return folder


@pytest.fixture
def seeds_dir() -> Path:
    return shared_path(SEEDS)


_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (
        host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")
    ):
        return _real_connect(self, address)
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    raise OSError(f"tests may not use the network (tried to connect to {address!r})")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """A test that needs the network is a bug: only loopback and unix sockets are allowed."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True, scope="session")
def quality_worker_runtime(tmp_path_factory):
    """One great_expectations worker for the session's runs, in this process and in the ones
    its tests start (they inherit the variable), asked to exit when the session ends."""
    runtime = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKSHOP_RUNTIME_DIR", str(runtime))
        yield runtime
    from workshop_dagster.platform import quality_worker

    quality_worker.stop()
    quality_worker.shutdown(runtime)


# `make test-lake`: the integration tests again with every warehouse a DuckLake (its catalog a
# database of a PostgreSQL server each test worker starts on 127.0.0.1, its files in the test's
# folder) instead of a DuckDB file. Tests of what only a file has are marked `file_warehouse`.
LAKE = os.environ.get("WORKSHOP_TEST_WAREHOUSE") == "lake"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if LAKE and item.get_closest_marker("file_warehouse"):
        pytest.skip("a DuckDB file's behaviour (make test runs it; make test-lake is the lake's)")


class _LakeServer:
    """One PostgreSQL server per test process, started at the first lake, stopped at exit."""

    server = None
    stack = None

    @classmethod
    def catalog(cls) -> tuple[str, str]:
        """A new, empty catalog database: (its DuckLake location, its password)."""
        import uuid
        from contextlib import ExitStack

        from tests.e2e.dagster_dev import free_port
        from tests.e2e.postgres import running_postgres
        from workshop_dagster.store import lake

        if cls.server is None:
            cls.stack = ExitStack()
            cls.server = cls.stack.enter_context(running_postgres(free_port()))
        pg = cls.server
        name = f"lake_{uuid.uuid4().hex[:12]}"
        pg.psql("postgres", f"create database {name}")
        location = f"{lake.PREFIX}dbname={name} host={pg.host} port={pg.port} user={pg.user}"
        return location, pg.password


def warehouse_env(file: Path) -> dict[str, str]:
    """The settings of a new, empty warehouse: the DuckDB `file`, or under `make test-lake` a
    new lake (its Parquet files in a folder beside where the file would be)."""
    if not LAKE:
        return {"WORKSHOP_DB": str(file)}
    location, password = _LakeServer.catalog()
    files = file.parent / f"{file.stem}-lake"
    return {"WORKSHOP_DB": location, "PGPASSWORD": password, "WORKSHOP_LAKE_DATA": str(files)}


def pytest_sessionfinish(session, exitstatus) -> None:
    if _LakeServer.stack is not None:
        _LakeServer.stack.close()


def _workshop_env(folder: Path, patch: pytest.MonkeyPatch) -> dict[str, str]:
    home = folder / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    env = {
        "DAGSTER_HOME": str(home),
        "WORKSHOP_DATA_DIR": str(folder / "data"),
        **warehouse_env(folder / "data" / "workshop.duckdb"),
    }
    for key, value in env.items():
        patch.setenv(key, value)
    patch.delenv("WORKSHOP_MARKET", raising=False)
    # No live news feeds: a test of them serves its own on 127.0.0.1 (test_news_feeds.py).
    patch.setenv("WORKSHOP_NEWS_FEEDS", "none")
    # Create the instance's storage once, as `make ui`/`make demo` do: two processes creating
    # a fresh SQLite instance at the same moment race on its tables.
    import dagster as dg

    dg.DagsterInstance.get().dispose()
    return env


@pytest.fixture
def workshop_env(tmp_path, monkeypatch) -> dict[str, str]:
    """A temporary warehouse, data folder and DAGSTER_HOME, exported to the environment."""
    return _workshop_env(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def module_workshop_env(tmp_path_factory):
    """`workshop_env` shared by a module's tests (one expensive run, read by several)."""
    with pytest.MonkeyPatch.context() as patch:
        yield _workshop_env(tmp_path_factory.mktemp("module_env"), patch)
