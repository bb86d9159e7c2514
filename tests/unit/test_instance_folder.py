"""A Dagster instance folder that cannot record runs is named, before Dagster's own SQLite
error ("unable to open database file") would be all the user sees."""

import os
import shutil
import subprocess

import pytest

from tests.conftest import PROJECT
from workshop_dagster.job_runs import InstanceFolderError, instance_folder_problem, project_instance


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
