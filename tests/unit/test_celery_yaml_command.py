"""The workers' celery.yaml is written from the cluster's settings with the Celery settings the
runs count on, private to its owner; without cluster mode it is refused, naming the setting."""

from __future__ import annotations

import yaml

from workshop_dagster.commands import celery_yaml
from workshop_dagster.lib.executor import CELERY_SETTINGS


def test_the_workers_file_names_the_broker_and_the_settings_runs_count_on(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_EXECUTOR", "celery")
    monkeypatch.setenv("WORKSHOP_CELERY_BROKER", "redis://:secret@10.0.0.1:6379/0")
    monkeypatch.delenv("WORKSHOP_CELERY_BACKEND", raising=False)
    path = tmp_path / "celery.yaml"
    assert celery_yaml.main([str(path)]) == 0
    config = yaml.safe_load(path.read_text())["execution"]["config"]
    assert config["broker"] == config["backend"] == "redis://:secret@10.0.0.1:6379/0"
    assert config["config_source"] == CELERY_SETTINGS
    assert config["config_source"]["task_track_started"] is True
    assert oct(path.stat().st_mode)[-3:] == "600"


def test_without_cluster_mode_no_file_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WORKSHOP_EXECUTOR", raising=False)
    path = tmp_path / "celery.yaml"
    assert celery_yaml.main([str(path)]) == 2
    assert "WORKSHOP_EXECUTOR=celery" in capsys.readouterr().err
    assert not path.exists()
