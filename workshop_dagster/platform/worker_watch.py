"""A step whose Celery worker died does not keep its run waiting.

dagster-celery's executor waits on each step's task until its result is ready. A worker killed
with -9 (or its host cut off) never sends that result: the task keeps its last state and the run
would wait for ever. The workers here report a started task with their name
(`task_track_started`, from `CELERY_SETTINGS`), so the run knows which worker holds each step;
`WorkerWatch` pings those workers (at most every few seconds, only while steps run) and a step
whose worker has not answered for `lost_after` seconds is given up: its result reads as ready and
yields the step's failure (`WorkerLost`, naming the worker and the step). The step's task is
revoked (a worker that comes back does not finish it after the run failed) and its pool slot
given back. What the step had written in an open transaction was never committed.

A task that raised (a step whose resources failed to start on the worker, say) is turned into
the step's failure too. dagster-celery would record it as a run error and stop sending steps,
but go on waiting for the steps that no longer depend on the failed one: the run hung for ever
(seen here, two workers opening a new lake at once). As a failed step, the steps after it are
skipped, the others run, and the run ends failed.

Celery only: this module imports nothing from Dagster.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from celery import states
from celery.exceptions import TaskRevokedError

LOST_AFTER_S = 30.0  # silence before a worker is given up (a busy worker answers in ms)
PING_EVERY_S = 5.0
PING_TIMEOUT_S = 2.0


class WorkerLost(RuntimeError):
    """The worker running a step stopped answering; the message says which and what to do."""


class WorkerWatch:
    """When each worker holding a step last answered a ping."""

    def __init__(
        self,
        app: Any,
        lost_after: float = LOST_AFTER_S,
        every: float = PING_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.app = app
        self.lost_after = lost_after
        self.every = every
        self.clock = clock
        self.last_seen: dict[str, float] = {}
        self.asked_at = float("-inf")

    def silent_for(self, worker: str) -> float:
        """Seconds since `worker` last answered (or since its step was first seen started)."""
        now = self.clock()
        self.last_seen.setdefault(worker, now)
        if now - self.asked_at >= self.every:
            self.asked_at = now
            self._ping(sorted(self.last_seen))
        return self.clock() - self.last_seen[worker]

    def forget(self, worker: str) -> None:
        self.last_seen.pop(worker, None)

    def _ping(self, workers: list[str]) -> None:
        try:
            replies = self.app.control.ping(destination=workers, timeout=PING_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - a broker that does not answer: nobody answered
            return
        answered = self.clock()
        for reply in replies or []:
            for worker in reply:
                if worker in self.last_seen:
                    self.last_seen[worker] = answered


class WatchedResult:
    """A step's Celery result that reads as ready once the worker running it has been silent
    too long, and whose `get` then gives the step's failure (`WorkerLost`), as it does for a
    task that raised. Stands in for `AsyncResult` in dagster-celery's loop, which calls
    `ready`, `get` and `revoke`."""

    def __init__(
        self,
        result: Any,
        step_key: str,
        watch: WorkerWatch,
        on_lost: Callable[[], None],
        failed: Callable[[BaseException], str],
    ):
        self.result = result
        self.step_key = step_key
        self.watch = watch
        self.on_lost = on_lost
        self.failed = failed  # the step's failure event, serialized as a worker sends events
        self.lost: str | None = None

    def ready(self) -> bool:
        if self.lost is not None:
            return True
        meta = self.result.backend.get_task_meta(self.result.id)
        state, info = meta.get("status"), meta.get("result")
        if state in states.READY_STATES:
            return True
        if state != states.STARTED:
            return False
        worker = info.get("hostname") if isinstance(info, dict) else None
        if not worker:
            return False
        silent = self.watch.silent_for(worker)
        if silent < self.watch.lost_after:
            return False
        self.lost = (
            f"the Celery worker {worker} stopped answering while it ran step {self.step_key!r} "
            f"(silent {silent:.0f} s: killed, or its host cut off from the broker), so the "
            "step is given up and the run fails rather than wait for it. Nothing it had not "
            "committed was kept. Once workers answer (`dagster-celery worker list -y "
            "celery.yaml`), run the same cycles again: finished cycles are replaced, not doubled."
        )
        self.watch.forget(worker)
        self.revoke(terminate=True)
        self.on_lost()
        return True

    def get(self) -> Any:
        if self.lost is not None:
            return [self.failed(WorkerLost(self.lost))]
        try:
            return self.result.get()
        except TaskRevokedError:
            raise  # the run was cancelled: dagster-celery's loop says so
        except Exception as exc:  # noqa: BLE001 - whatever the task raised fails its step
            return [self.failed(exc)]

    def revoke(self, terminate: bool = False) -> None:
        with contextlib.suppress(Exception):  # a broker down: the revoke is best effort
            self.result.revoke(terminate=terminate, signal="SIGKILL")
