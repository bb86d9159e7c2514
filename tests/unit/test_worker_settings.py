"""A worker's WORKSHOP_* settings against a run's: compared as digests (no value leaves the
worker), the host's own folders left out, a difference named by the setting."""

from __future__ import annotations

from workshop_dagster.lib.worker_settings import differences, digests, mismatched_workers

RUN = {
    "WORKSHOP_CYCLE_CRON": "15,45 9-16 * * 1-5",
    "WORKSHOP_DB": "ducklake:postgres:dbname=lake host=10.0.0.1",
    "WORKSHOP_SIGNING_KEY": "a-secret-key",
    "WORKSHOP_DATA_DIR": "/srv/host-a/data",
    "PATH": "/usr/bin",
}


def test_the_same_settings_on_another_host_match():
    worker = {**RUN, "WORKSHOP_DATA_DIR": "/srv/host-b/data", "WORKSHOP_RUNTIME_DIR": "/run/b"}
    assert differences(digests(RUN), digests(worker)) == []
    assert mismatched_workers([{"worker@hostb": digests(worker)}], RUN) == []


def test_a_worker_with_another_cadence_or_a_setting_more_is_named_without_values():
    worker = {**RUN, "WORKSHOP_CYCLE_CRON": "15 9 * * 1-5", "WORKSHOP_LLM": "anthropic"}
    (problem,) = mismatched_workers([{"worker@hostb": digests(worker)}], RUN)
    assert problem == "worker@hostb runs with other WORKSHOP_CYCLE_CRON, WORKSHOP_LLM"
    assert "a-secret-key" not in repr(digests(RUN))  # a digest, not the value


def test_an_empty_setting_is_an_unset_one():
    assert digests({**RUN, "WORKSHOP_LLM": "  "}) == digests(RUN)


def test_a_worker_that_cannot_say_its_settings_is_refused_saying_how_to_start_it():
    reply = {"worker@old": {"error": "No such inspect command: workshop_settings"}}
    (problem,) = mismatched_workers([reply], RUN)
    assert "cannot say its settings" in problem and "commands.celery_yaml" in problem
