"""What names one warehouse in a process: a lake by its catalog, however its location is spelled
(the settings spell out the data path, a hand-built IO manager may not), so one
`one_transaction` holds every write to it; a file by its resolved path."""

from workshop_dagster.store import lake, warehouse

CATALOG = f"{lake.PREFIX}dbname=workshop host=127.0.0.1 user=workshop"


def test_two_spellings_of_one_lake_are_one_warehouse():
    spelled_out = lake.location(CATALOG, "/srv/lake")
    assert warehouse._key(spelled_out) == warehouse._key(CATALOG) == CATALOG
    gate = warehouse._gate_for(spelled_out)
    assert warehouse._gate_for(CATALOG) is gate
    assert gate.location == spelled_out  # attached with the data path it was first given


def test_another_catalog_is_another_warehouse():
    other = f"{lake.PREFIX}dbname=other host=127.0.0.1 user=workshop"
    assert warehouse._key(other) != warehouse._key(CATALOG)


def test_a_file_is_named_by_its_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert warehouse._key("w.duckdb") == warehouse._key(tmp_path / "w.duckdb")
