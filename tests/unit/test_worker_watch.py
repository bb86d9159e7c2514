"""A step whose Celery worker stops answering is given up after `lost_after` seconds of silence
(its result reads as ready and yields the step's failure); a worker that answers keeps its step;
a task that raised becomes its step's failure instead of an error dagster-celery's loop would
wait behind for ever. Fakes stand in for Celery's result and control API; the clock is ours."""

from __future__ import annotations

import pytest
from celery.exceptions import TaskRevokedError

from workshop_dagster.platform.worker_watch import WatchedResult, WorkerWatch


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Control:
    def __init__(self) -> None:
        self.answering: set[str] = set()
        self.pings = 0

    def ping(self, destination, timeout):
        self.pings += 1
        return [{w: {"ok": "pong"}} for w in destination if w in self.answering]


class App:
    def __init__(self) -> None:
        self.control = Control()


class Backend:
    def __init__(self, meta: dict) -> None:
        self.meta = meta

    def get_task_meta(self, task_id):
        return self.meta


class Result:
    def __init__(self, status: str, info=None, raises: BaseException | None = None) -> None:
        self.id = "task-1"
        self.backend = Backend({"status": status, "result": info})
        self.raises = raises
        self.revoked: list[bool] = []

    def get(self):
        if self.raises:
            raise self.raises
        return ["events"]

    def revoke(self, terminate=False, signal=None):
        self.revoked.append(terminate)


def _watched(result: Result, app: App, clock: Clock, seen: list) -> WatchedResult:
    watch = WorkerWatch(app, lost_after=30, every=5, clock=clock)
    return WatchedResult(
        result, "deliberation", watch, lambda: seen.append("slot"), lambda exc: f"failed: {exc}"
    )


def test_a_started_step_whose_worker_is_silent_is_given_up_after_the_silence():
    app, clock, seen = App(), Clock(), []
    result = Result("STARTED", {"hostname": "worker@hosta", "pid": 7})
    watched = _watched(result, app, clock, seen)
    assert not watched.ready()
    clock.now = 29
    assert not watched.ready()
    clock.now = 31
    assert watched.ready()
    (failure,) = watched.get()
    assert failure.startswith("failed: the Celery worker worker@hosta stopped answering")
    assert "'deliberation'" in failure and "run the same cycles again" in failure
    assert result.revoked == [True]  # a worker that comes back does not finish it
    assert seen == ["slot"]  # its pool slot given back


def test_a_worker_that_answers_keeps_its_step_however_long_it_runs():
    app, clock, seen = App(), Clock(), []
    app.control.answering.add("worker@hosta")
    watched = _watched(Result("STARTED", {"hostname": "worker@hosta"}), app, clock, seen)
    for second in range(0, 600, 1):
        clock.now = second
        assert not watched.ready()
    assert app.control.pings <= 600 // 5 + 1  # asked at most every five seconds
    assert seen == []


def test_a_step_still_queued_is_not_watched():
    app, clock, seen = App(), Clock(), []
    watched = _watched(Result("PENDING"), app, clock, seen)
    clock.now = 1000
    assert not watched.ready()
    assert app.control.pings == 0


def test_a_task_that_raised_becomes_its_steps_failure():
    app, clock, seen = App(), Clock(), []
    broken = RuntimeError("resources failed to start")
    watched = _watched(Result("FAILURE", raises=broken), app, clock, seen)
    assert watched.ready()
    assert watched.get() == ["failed: resources failed to start"]


def test_a_revoked_task_is_left_to_dagster_celery():
    app, clock, seen = App(), Clock(), []
    watched = _watched(Result("REVOKED", raises=TaskRevokedError("x")), app, clock, seen)
    assert watched.ready()
    with pytest.raises(TaskRevokedError):  # dagster-celery's loop says the run was cancelled
        watched.get()
