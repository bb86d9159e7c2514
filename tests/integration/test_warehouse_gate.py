"""The warehouse file during a run: one open connection reused between the run's uses, each use
still its own transaction, the file given back to other processes within LINGER_S of the last
use and at once when the run ends or a use fails."""

import subprocess
import sys
import time

import duckdb
import pytest
from filelock import FileLock

from workshop_dagster.store import warehouse

# The file's lock and gate: a lake has neither (its catalog arbitrates).
pytestmark = pytest.mark.file_warehouse

OTHER_PROCESS = """
import sys, time
from workshop_dagster.store import warehouse
t = time.monotonic()
with warehouse.connect(sys.argv[1], timeout=20) as conn:
    print(conn.execute("select count(*) from t").fetchone()[0], round(time.monotonic() - t, 3))
"""


@pytest.fixture
def lingering():
    warehouse.start_lingering()
    yield
    warehouse.stop_lingering()


def _opens(monkeypatch) -> list[str]:
    opened = []
    real = duckdb.connect

    def counting(path, *args, **kwargs):
        opened.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", counting)
    return opened


def _file_is_free(db) -> bool:
    probe = FileLock(str(db) + ".lock", thread_local=False)
    try:
        probe.acquire(timeout=0)
    except TimeoutError:
        return False
    probe.release()
    return True


def test_a_run_reuses_one_connection_and_each_use_commits(tmp_path, monkeypatch, lingering):
    db = tmp_path / "w.duckdb"
    opened = _opens(monkeypatch)
    with warehouse.connect(db) as conn:
        conn.execute("create table t (x int)")
    for i in range(5):
        with warehouse.connect(db) as conn:
            conn.execute("insert into t values (?)", [i])
    with pytest.raises(ValueError), warehouse.connect(db) as conn:
        conn.execute("insert into t values (99)")
        raise ValueError("a use that fails")
    assert len(opened) == 1  # six uses, one open
    assert _file_is_free(db)  # the failed use closed at once: nothing kept
    with warehouse.connect(db) as conn:  # the failed use's row was rolled back
        assert conn.execute("select list(x order by x) from t").fetchone()[0] == [0, 1, 2, 3, 4]
        with warehouse.connect(db) as inner:  # a use inside a use: its own connection
            assert inner.execute("select count(*) from t").fetchone()[0] == 5


def test_another_process_gets_the_file_soon_after_the_last_use(tmp_path, lingering):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as conn:
        conn.execute("create table t as select 1 as x")
    assert not _file_is_free(db)  # kept for the run's next use
    out = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, str(db)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "1"  # the other process read the committed row, no lock error
    time.sleep(warehouse.LINGER_S * 2)
    assert _file_is_free(db)


def test_the_run_end_gives_the_file_back_at_once(tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.start_lingering()
    with warehouse.connect(db) as conn:
        conn.execute("create table t as select 1 as x")
    warehouse.stop_lingering()
    assert _file_is_free(db)
    # A plain DuckDB connection of another configuration opens at once in this process too.
    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select x from t").fetchone()[0] == 1
