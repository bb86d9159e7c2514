"""Runs whose process died give back their pool slots: nothing waits for a dead run.

Dagster keeps the pool slots of a run killed with -9 (or lost with its machine) until something
marks the run failed; a later run needing the pool waits for ever ("Step blocked by limit for
pool llm"), and `dagster dev`'s run monitoring does not help a run started from the CLI (the
default run launcher has no health check). So every run records the process that executes it
(host, pid and the pid's start time, as run tags) when its resources start, and
`free_dead_runs` marks failed every started run whose process is gone from this host and frees
its slots. It is called by each run before its first step (CLI or UI) and by a sensor under
`dagster dev`, so a dead run is cleared by the next run of anything, or within a minute.

The second half of the trap is Dagster's in-process executor spinning a core while a step is
blocked on a pool: `patch_blocked_step_sleep` makes it sleep until its next claim check.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

HOST_TAG, PID_TAG, STARTED_TAG = "workshop/host", "workshop/pid", "workshop/pid_started"
# Which run recorded the tags above: a re-executed run copies its parent's tags, and must not
# be taken for the parent's process.
RECORDED_BY_TAG = "workshop/pid_of_run"
LIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None if unknown or gone.
    A zombie (killed, not yet reaped by its parent) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]  # field 22 of stat: starttime


def _alive(pid: int, started: str | None) -> bool:
    if Path("/proc").is_dir():
        now = _start_time(pid)
        return now is not None and (started is None or now == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def record_run_process(instance: dg.DagsterInstance, run_id: str) -> None:
    """Tag the run with the process that executes it (this one)."""
    pid = os.getpid()
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), RECORDED_BY_TAG: run_id}
    started = _start_time(pid)
    if started is not None:
        tags[STARTED_TAG] = started
    instance.add_run_tags(run_id, tags)


def free_dead_runs(instance: dg.DagsterInstance, exclude: str | None = None) -> list[str]:
    """Mark failed every started run of this host whose process has died, and free its pool
    slots; returns their run ids."""
    host = socket.gethostname()
    freed = []
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=LIVE, tags={HOST_TAG: host}), limit=200)
    for run in runs:
        if run.run_id == exclude or PID_TAG not in run.tags:
            continue
        pid = int(run.tags[PID_TAG])
        if _alive(pid, run.tags.get(STARTED_TAG)):
            continue
        instance.report_run_failed(
            run,
            message=f"The process running this run (pid {pid} on {host}) is gone (killed, or "
            "lost with its machine): marked failed and its pool slots freed by Workshop's "
            "run guard. Re-run its cycles; calls already answered are replayed at no cost.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        freed.append(run.run_id)
    return freed


def guard_run(context: dg.InitResourceContext) -> None:
    """At the start of a run: record its process and clear the runs that died before it."""
    instance, run = context.instance, context.run
    if instance is None or run is None:
        return
    # In cluster mode the run's executor recorded its own process before the first step (the
    # step runs in a Celery worker's process, which outlives the run and serves others).
    if run.tags.get(RECORDED_BY_TAG) != run.run_id:
        record_run_process(instance, run.run_id)
    freed = free_dead_runs(instance, exclude=run.run_id)
    if freed and context.log:
        context.log.warning(f"freed the pool slots of dead runs {', '.join(freed)}")


class RunGuard(dg.ConfigurableResource):
    """The dead-run guard as a resource of every run (`resources.py`): when a run starts, it
    records the run's process and frees the pool slots of runs that died (`guard_run`). The
    IO manager holds it, so any run that stores a table starts it."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        guard_run(context)


def build_run_guard_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="dead_run_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Marks failed the runs whose process died (a kill -9, a lost machine) and "
        "frees their pool slots, so no run waits for ever on a dead run's slot.",
    )
    def dead_run_sensor(context: dg.SensorEvaluationContext):
        freed = free_dead_runs(context.instance)
        return dg.SkipReason(
            f"freed the slots of dead runs {', '.join(freed)}" if freed else "no dead run"
        )

    return dead_run_sensor


def patch_blocked_step_sleep() -> None:
    """Make a step blocked on a pool sleep until its next claim check instead of spinning.

    Dagster 1.13's `interval_to_next_pending_claim_check` returns `min([0, ...])`, never above
    zero, so the in-process executor's wait loop never sleeps while a step is blocked (a core
    at 100% per waiting run). The intended value is the time to the earliest pending check."""
    import time

    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )

    if getattr(InstanceConcurrencyContext, "_workshop_sleeps", False):
        return

    def interval_to_next_pending_claim_check(self) -> float:
        if not self._pending_claims:
            return 0.0
        now = time.time()
        waits = [ready_at - now for ready_at in self._pending_timeouts.values()]
        return max(0.0, min(waits)) if waits else 0.0

    InstanceConcurrencyContext.interval_to_next_pending_claim_check = (
        interval_to_next_pending_claim_check
    )
    InstanceConcurrencyContext._workshop_sleeps = True
