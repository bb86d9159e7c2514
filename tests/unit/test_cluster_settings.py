"""Cluster mode is configuration (WORKSHOP_EXECUTOR=celery, WORKSHOP_CELERY_BROKER), checked when
the code location loads; the broker's URL reaches the executor through its variable, never the
configuration stored with every run."""

import pytest

from workshop_dagster.config.settings import SettingsError, load_settings


def _settings(tmp_path, **env):
    return load_settings({"WORKSHOP_DATA_DIR": str(tmp_path), **env})


def test_the_default_runs_a_runs_steps_in_its_process(tmp_path):
    from workshop_dagster.lib.executor import executor_for

    settings = _settings(tmp_path)
    assert settings.executor.kind == "in_process"
    assert executor_for(settings).name == "in_process"


def test_multiprocess_gives_each_step_a_process_on_the_runs_machine(tmp_path):
    from workshop_dagster.lib.executor import executor_for

    settings = _settings(tmp_path, WORKSHOP_EXECUTOR="multiprocess")
    assert executor_for(settings).name == "multiprocess"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"WORKSHOP_EXECUTOR": "k8s"},
            "WORKSHOP_EXECUTOR='k8s' is not an executor: use in_process or multiprocess or celery",
        ),
        ({"WORKSHOP_EXECUTOR": "celery"}, "needs WORKSHOP_CELERY_BROKER"),
        (
            {"WORKSHOP_EXECUTOR": "celery", "WORKSHOP_CELERY_BROKER": "127.0.0.1:6379"},
            "WORKSHOP_CELERY_BROKER must be a redis://",
        ),
        (
            {
                "WORKSHOP_EXECUTOR": "celery",
                "WORKSHOP_CELERY_BROKER": "redis://127.0.0.1:6379/0",
                "WORKSHOP_CELERY_BACKEND": "http://results",
            },
            "WORKSHOP_CELERY_BACKEND must be",
        ),
    ],
)
def test_a_wrong_cluster_setting_is_refused_naming_it(tmp_path, env, says):
    with pytest.raises(SettingsError, match=says.replace("(", r"\(")):
        _settings(tmp_path, **env)


def test_the_celery_executor_reads_the_broker_from_its_variable(tmp_path):
    from workshop_dagster.lib.executor import executor_for

    secret = "redis://:s3cret@broker.internal:6379/0"
    settings = _settings(tmp_path, WORKSHOP_EXECUTOR="celery", WORKSHOP_CELERY_BROKER=secret)
    assert executor_for(settings).name == "celery"
    assert "s3cret" not in repr(settings)  # the run's stored config: tests/e2e/test_cluster.py
