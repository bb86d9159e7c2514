"""A Dagster instance folder that cannot record runs is named, before Dagster's own SQLite
error ("unable to open database file") would be all the user sees."""

import os
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT
from workshop_dagster.commands.job_runs import (
    InstanceFolderError,
    instance_folder_problem,
    project_instance,
)


def test_a_read_only_instance_folder_is_named(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / "history").mkdir(parents=True)
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    (home / "history" / "runs.db").write_bytes(b"")
    assert instance_folder_problem(home) is None
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p).endswith("runs.db") else real_access(p, mode)
    )
    problem = instance_folder_problem(home)
    assert f"{home / 'history' / 'runs.db'} is not writable" in problem
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with pytest.raises(InstanceFolderError, match="Give DAGSTER_HOME a writable folder"):
        project_instance(PROJECT)
    assert "has no dagster.yaml" in instance_folder_problem(tmp_path)


def test_make_refuses_a_read_only_dagster_home_by_name(tmp_path):
    """On a real read-only file system (a tmpfs mounted read-only: needs root's mount)."""
    home = tmp_path / "ro_home"
    home.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(home)])
    if mounted.returncode:
        pytest.skip("mounting a tmpfs needs root and a kernel that allows it here")
    try:
        shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
        subprocess.run(["mount", "-o", "remount,ro", str(home)], check=True)
        out = subprocess.run(
            ["make", "-s", "instance", f"DAGSTER_HOME={home}"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2 and f"DAGSTER_HOME={home} is not writable" in out.stderr
        assert instance_folder_problem(home) and str(home) in instance_folder_problem(home)
    finally:
        subprocess.run(["umount", str(home)])


def test_verify_reads_a_warehouse_copy_on_a_read_only_file_system(tmp_path):
    """`make verify` on a read-only copy (a tmpfs mounted read-only: needs root's mount)."""
    import duckdb

    from tests.unit.test_seals import _contents
    from workshop_dagster.commands.verify import check_warehouse
    from workshop_dagster.predictions import seals

    folder = tmp_path / "ro"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)]).returncode:
        pytest.skip("mounting a tmpfs needs root and a kernel that allows it here")
    try:
        db = folder / "workshop.duckdb"
        with duckdb.connect(str(db)) as conn:
            seals.seal(conn, _contents(cycles=("c1",)))
            conn.execute(
                "create table memo as select 'c1' cycle_key, 'I call QQQ lower. (c1)' body"
            )
            conn.execute(
                "create table predictions as select 'c1' cycle_key, 'synthesis' as source, "
                "'parsed' parse_status, 'QQQ' subject, 'down' direction, '24h' timeframe, "
                "0.62 confidence, null::double band_low_pct, null::double band_high_pct"
            )
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        checked = check_warehouse(db)
        assert checked.problems == [] and "1 cycles, 1 seals" in checked.facts[0]
        assert not (folder / "workshop.duckdb.lock").exists()
    finally:
        subprocess.run(["umount", str(folder)])


def test_each_data_folder_keeps_its_own_run_history(tmp_path):
    from workshop_dagster.commands.job_runs import instance_folder

    project = tmp_path / "project"
    assert instance_folder(project, project / "data") == project / ".dagster_home"
    real = project / "data" / "real"
    assert instance_folder(project, real) == real.resolve() / ".dagster_home"
    elsewhere = tmp_path / "elsewhere"
    assert instance_folder(project, elsewhere) == elsewhere.resolve() / ".dagster_home"
