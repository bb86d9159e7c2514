"""A warehouse file another DuckDB version wrote is refused with a message that says so and what
to do, never a bare storage error. (Tried by hand with duckdb 1.5.5 on a file of this project's
2.0.1: its refusal is the text below, word for word.)"""

import duckdb
import pytest

from workshop_dagster.store import warehouse

REFUSAL = (
    "IO Error: Trying to read a database file with version number 999, but we can only read "
    "versions between 64 and 68.\nThe database file was created with an newer version of "
    "DuckDB.\n\nNewer DuckDB version might introduce backward incompatible changes (possibly "
    "guarded by compatibility settings).\nSee the storage page for migration strategy and more "
    "information: https://duckdb.org/internals/storage"
)


@pytest.fixture
def refused(tmp_path, monkeypatch):
    path = tmp_path / "workshop.duckdb"
    duckdb.connect(str(path)).close()

    def connect(*args, **kwargs):
        raise duckdb.IOException(REFUSAL)

    monkeypatch.setattr(duckdb, "connect", connect)
    return path


@pytest.mark.parametrize("opening", ["connect", "read_only"])
def test_a_file_of_another_duckdb_version_is_refused_saying_what_to_do(refused, opening):
    with (
        pytest.raises(warehouse.WarehouseUnreadable) as raised,
        getattr(warehouse, opening)(refused),
    ):
        pass
    text = str(raised.value)
    assert f"{refused} was written by another DuckDB version than this one" in text
    assert "version number 999, but we can only read versions between 64 and 68" in text
    assert "EXPORT DATABASE" in text and "IMPORT DATABASE" in text
    # The file lock was given back: the next writer is not kept waiting.
    lock = warehouse.FileLock(str(refused) + ".lock", timeout=0)
    lock.acquire()
    lock.release()


def test_a_damaged_file_is_still_named_as_unreadable(tmp_path):
    path = tmp_path / "workshop.duckdb"
    path.write_bytes(b"not a database" * 100)
    refused = pytest.raises(warehouse.WarehouseUnreadable, match="cannot be read as a DuckDB")
    with refused, warehouse.read_only(path):
        pass
