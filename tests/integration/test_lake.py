"""The warehouse on a shared DuckLake: its catalog in a real PostgreSQL on 127.0.0.1 (Debian's
package, as the instance test uses), its Parquet files in a folder. The loop writes it as it
writes the file; several processes write different cycles of it at once; two sealers at once
keep one chain. Skipped with the reason where PostgreSQL cannot be started (failed in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.dagster_dev import free_port
from tests.e2e.postgres import running_postgres
from tests.integration.helpers import failure_text, materialize, query
from workshop_dagster.commands.verify import verify_warehouse
from workshop_dagster.config.settings import SettingsError, load_settings
from workshop_dagster.predictions import seals
from workshop_dagster.store import lake, warehouse

# Starts its own lakes beside a file: `make test-lake` would run it twice over.
pytestmark = pytest.mark.file_warehouse

PROJECT = Path(__file__).resolve().parents[2]
LOOP = dg.AssetSelection.groups("market", "minds", "predictions")
CYCLES = ["2026-03-02-19:15", "2026-03-03-19:15", "2026-03-04-19:15"]


@pytest.fixture(scope="module")
def pg():
    with running_postgres(free_port()) as server:
        yield server


def _use_lake(monkeypatch, pg, folder: Path, name: str) -> str:
    """A new lake (its own catalog database) exported as the warehouse; returns its location."""
    pg.psql("postgres", f"create database {name}")
    catalog = f"{lake.PREFIX}dbname={name} host={pg.host} port={pg.port} user={pg.user}"
    monkeypatch.setenv("WORKSHOP_DB", catalog)
    monkeypatch.setenv("WORKSHOP_LAKE_DATA", str(folder / f"{name}-files"))
    monkeypatch.setenv("PGPASSWORD", pg.password)
    return str(load_settings().database)


def test_the_loop_writes_a_lake_as_it_writes_the_file(workshop_env, pg, tmp_path, monkeypatch):
    """Three cycles into the file and into a lake: the same memos, calls and seals, the chain
    verifies, and a re-run adds no row; the Parquet files are in the data folder."""
    on_file = materialize(CYCLES, selection=LOOP)
    assert on_file.success, failure_text(on_file)
    read = (
        "select cycle_key, title, body from memo order by cycle_key",
        "select cycle_key, source, subject, direction, confidence, seal from predictions "
        "order by cycle_key, source",
        "select seq, cycle_key, kind, content_hash, seal from record_seals order by seq",
    )
    file_rows = [query(sql) for sql in read]

    location = _use_lake(monkeypatch, pg, tmp_path, "lake_loop")
    assert lake.is_lake(location) and "password" not in location
    on_lake = materialize(CYCLES, selection=LOOP)
    assert on_lake.success, failure_text(on_lake)
    for sql, expected in zip(read, file_rows, strict=True):
        assert query(sql).equals(expected), sql
    assert verify_warehouse(location) == []
    again = materialize(CYCLES, selection=LOOP)
    assert again.success, failure_text(again)
    assert len(query("select * from predictions")) == len(file_rows[1])
    assert len(query("select * from record_seals")) == len(file_rows[2]) >= len(CYCLES)
    assert list((tmp_path / "lake_loop-files").rglob("*.parquet"))


WRITER = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from tests.integration.helpers import failure_text, materialize
    result = materialize(sys.argv[1], selection=dg.AssetSelection.groups("market", "minds", "predictions"))
    print(failure_text(result))
    sys.exit(0 if result.success else 1)
    """
)


def test_four_processes_write_different_cycles_of_one_lake_at_once(
    workshop_env, pg, tmp_path, monkeypatch
):
    """Four runs of four cycles at once (each its own process and instance): every run
    succeeds, each cycle's rows are there once, and the sealed chain is one chain (a sealer
    refused at commit by another ran again on the chain as it stood)."""
    location = _use_lake(monkeypatch, pg, tmp_path, "lake_writers")
    first = materialize("2026-03-02-19:15", selection=LOOP)  # the lake's tables made once
    assert first.success, failure_text(first)
    keys = ["2026-03-03-19:15", "2026-03-04-19:15", "2026-03-05-19:15", "2026-03-06-19:15"]
    procs = []
    for n, key in enumerate(keys):
        home = tmp_path / f"home{n}"
        home.mkdir()
        (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WRITER, key],
                cwd=PROJECT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]
    wanted = ["2026-03-02-19:15", *keys]
    for table in ("memo", "mind_opinions", "market_quotes", "cycle_features"):
        counts = query(f"select cycle_key, count(*) n from {table} group by 1 order by 1")
        assert counts["cycle_key"].tolist() == wanted, table
        assert counts["n"].nunique() == 1, (table, counts)
    chain = query("select seq, cycle_key from record_seals order by seq")
    assert chain["seq"].tolist() == [1, 2, 3, 4, 5]
    assert sorted(chain["cycle_key"]) == wanted
    assert verify_warehouse(location) == []


def test_two_sealers_at_once_keep_one_chain(workshop_env, pg, tmp_path, monkeypatch):
    """Two processes' transactions seal different cycles at the same moment: the catalog
    commits the first and refuses the second (the chain's head row, which both rewrote), and
    the second, sealed again, follows the first: one chain, no fork."""
    import duckdb

    location = _use_lake(monkeypatch, pg, tmp_path, "lake_sealers")
    with warehouse.connect(location) as conn:
        seals.seal(conn, {"c0": seals.cycle_content("c0", "memo c0", [])})
    warehouse.stop_lingering()
    first, second = duckdb.connect(), duckdb.connect()
    for conn in (first, second):
        lake.attach(conn, location)
        conn.execute("begin")
    seals.seal(first, {"c1": seals.cycle_content("c1", "memo c1", [])})
    seals.seal(second, {"c2": seals.cycle_content("c2", "memo c2", [])})
    first.execute("commit")
    with pytest.raises(duckdb.Error) as refused:
        second.execute("commit")
    assert lake.is_conflict(refused.value), refused.value
    second.execute("begin")
    seals.seal(second, {"c2": seals.cycle_content("c2", "memo c2", [])})
    second.execute("commit")
    chain = query("select seq, cycle_key, prev_seal, seal from record_seals order by seq")
    assert chain["cycle_key"].tolist() == ["c0", "c1", "c2"]
    assert (chain["prev_seal"].iloc[1:].to_numpy() == chain["seal"].iloc[:-1].to_numpy()).all()
    assert seals.verify_chain(query("select * from record_seals order by seq")) is None


def test_a_lake_setting_is_checked_at_load(monkeypatch, tmp_path):
    """A password in the catalog (it would be stored with every run), no data folder, a
    relative one, or a data folder without a lake: each refused, naming the variable."""
    base = f"{lake.PREFIX}dbname=workshop host=127.0.0.1"
    cases = {
        (f"{base} password=hunter2", "/srv/lake"): "PGPASSWORD or ~/.pgpass",
        (base, ""): "needs WORKSHOP_LAKE_DATA",
        (base, "lake-files"): "must be an absolute folder",
        (f"{lake.PREFIX}host=127.0.0.1", "/srv/lake"): "names no dbname=",
        (str(tmp_path / "w.duckdb"), "/srv/lake"): "WORKSHOP_DB names no lake",
    }
    for (db, data), said in cases.items():
        env = {"WORKSHOP_DB": db, "WORKSHOP_LAKE_DATA": data}
        with pytest.raises(SettingsError, match=said.replace("(", r"\(")) as raised:
            load_settings(env)
        assert "hunter2" not in str(raised.value)


def test_a_catalog_that_cannot_be_reached_is_named_without_its_password(monkeypatch):
    """No PostgreSQL behind the catalog: the first use says which setting and what to check,
    and the password given in PGPASSWORD appears nowhere in it."""
    catalog = f"{lake.PREFIX}dbname=workshop host=127.0.0.1 port={free_port()} user=workshop"
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    location = lake.location(catalog, "/srv/lake")
    said = r"\(WORKSHOP_DB\).*is PostgreSQL running"
    with pytest.raises(lake.LakeUnavailable, match=said) as e, warehouse.connect(location):
        pass
    assert "hunter2" not in str(e.value)


def test_a_file_warehouse_is_copied_into_an_empty_lake_once(
    workshop_env, pg, tmp_path, monkeypatch
):
    """`make copy-to-lake`'s command: every table of the file (the loop's and a variant's
    schema) in the lake with its rows, the sealed records verified there; a second copy into the
    now full lake is refused and changes nothing."""
    import subprocess

    file = Path(workshop_env["WORKSHOP_DB"])
    done = materialize(CYCLES[:2], selection=LOOP)
    assert done.success, failure_text(done)
    with warehouse.connect(file) as conn:  # a side variant's schema, as variants write it
        conn.execute("create schema placebo")
        conn.execute("create table placebo.memo as select * from main.memo")
    warehouse.stop_lingering()
    memos = query("select cycle_key, title, body from memo order by 1")
    _use_lake(monkeypatch, pg, tmp_path, "lake_copy")
    command = [sys.executable, "-m", "workshop_dagster.commands.copy_to_lake", "--from", str(file)]
    copied = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert copied.returncode == 0, copied.stdout + copied.stderr
    assert "tables," in copied.stdout and "warehouse: verified" in copied.stdout
    assert query("select cycle_key, title, body from memo order by 1").equals(memos)
    assert len(query("select * from placebo.memo")) == len(memos)
    again = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    assert again.returncode == 2 and "already holds" in again.stderr
    assert query("select cycle_key, title, body from memo order by 1").equals(memos)


def test_a_reader_inside_a_reader_of_one_lake_reads_the_lake(pg, tmp_path, monkeypatch):
    """The nested use is a DuckDB cursor, which starts in DuckDB's own catalog: `verify` inside
    a reader named an empty in-memory `main` (found by the two-host cluster test)."""
    location = _use_lake(monkeypatch, pg, tmp_path, "nested_reader")
    with warehouse.connect(location) as conn:
        conn.execute("create table main.memo_probe as select 1 as x")
    with warehouse.read_only(location) as outer, warehouse.read_only(location) as inner:
        assert outer.execute("select x from main.memo_probe").fetchall() == [(1,)]
        assert inner.execute("select x from main.memo_probe").fetchall() == [(1,)]


def test_hosts_opening_a_new_lake_at_once_all_open_it(pg, tmp_path, monkeypatch):
    """Four processes attach a lake whose catalog is empty at the same moment: each creates the
    catalog's tables, the slower ones are refused by PostgreSQL and open it once it is made."""
    location = _use_lake(monkeypatch, pg, tmp_path, "new_at_once")
    script = textwrap.dedent(
        """
        import sys, time
        from workshop_dagster.store import warehouse
        time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
        with warehouse.read_only(sys.argv[1]) as conn:
            conn.execute("select 1").fetchall()
        """
    )
    import time

    at = str(time.time() + 4)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, location, at],
            env=os.environ.copy(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(errors)[-3000:]
