"""The executor of the code location's jobs, from the settings: the in-process executor (the
default: a cycle's steps are short and share one warehouse, so one process a run is fastest),
Dagster's multiprocess executor (a process a step, on the run's machine), or, in cluster mode
(WORKSHOP_EXECUTOR=celery), dagster-celery's, each step a task its workers take from the
broker. The broker's URL reaches the executor through its variable (`env`), so
no run's stored configuration holds it (it may carry a password).

Before a run sends its first step, the broker must answer and a worker must answer a ping:
otherwise dagster-celery would queue the steps and the run would wait for a worker for ever
(or retry a dead broker for half a minute and fail with Celery's words). The run fails at once
instead, saying which setting names the broker and how to start workers. Once steps run, a step
whose worker dies is given up within a minute (`platform/celery_executor`, `worker_watch`),
and the run is recorded as the process of this executor, not of the worker that ran its last
step (`run_guard`).

The Celery settings the run and the workers share are `CELERY_SETTINGS`; `celery_yaml` writes
the file workers start with (`dagster-celery worker start -y celery.yaml`)."""

from __future__ import annotations

import os

import dagster as dg

from ..config.settings import Settings

PING_TIMEOUT_S = 5.0
SETTINGS_TIMEOUT_S = 1.0

# Celery settings of both sides (the run's executor and every worker, from celery.yaml).
CELERY_SETTINGS: dict = {
    # A started task names its worker: how a run knows whom to watch (platform/worker_watch).
    "task_track_started": True,
    # A worker takes a step only when it has a free process (dagster-celery's default prefetches
    # four a process): a killed worker takes no waiting step with it.
    "worker_disable_prefetch": True,
    "worker_prefetch_multiplier": 1,
    # A broker restarted mid-run: results are read again and steps sent again for a while.
    "result_backend_always_retry": True,
    "result_backend_max_retries": 20,
    "broker_connection_retry_on_startup": True,
    # A worker says its WORKSHOP_* settings when a run starts (lib/worker_settings).
    "imports": ["workshop_dagster.lib.worker_settings"],
    "broker_transport_options": {
        "max_retries": 12,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 2,
    },
}


class NoCeleryWorker(RuntimeError):
    """The broker is unreachable, or no worker answers on it."""


def celery_yaml(broker: str, backend: str | None = None) -> dict:
    """The `-y` file of `dagster-celery worker start` (it holds the broker's URL: keep it 0600)."""
    config = {"broker": broker, "backend": backend or broker, "config_source": CELERY_SETTINGS}
    return {"execution": {"config": config}}


def workers_problem(broker: str, timeout: float = PING_TIMEOUT_S) -> str | None:
    """Why steps sent to `broker` would not run (None: a worker answered, and every worker that
    answered runs with this process's settings)."""
    from celery import Celery

    from .worker_settings import COMMAND, mismatched_workers

    app = Celery("workshop-ping", broker=broker, backend=None)
    app.conf.broker_connection_retry_on_startup = False
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        # The first reply ends the wait (without a limit a ping waits out its whole timeout:
        # 5 s at the start of every run).
        replies = app.control.ping(timeout=timeout, limit=1)
        # Every worker's settings: those that answer within a second (on a network, in ms).
        settings = app.control.broadcast(COMMAND, reply=True, timeout=SETTINGS_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - whatever the transport raises, said in words
        return (
            f"the Celery broker of WORKSHOP_CELERY_BROKER does not answer ({type(exc).__name__}: "
            f"{exc}); start it (Redis; `make cluster` starts one) or correct the setting"
        )
    finally:
        app.close()
    if not replies:
        return (
            f"no Celery worker answered on the broker of WORKSHOP_CELERY_BROKER within "
            f"{timeout:.0f} s, so no step of this run could start: start workers (`dagster-celery "
            "worker start -A dagster_celery.app -y celery.yaml`, or `make cluster`) with the "
            "same WORKSHOP_* settings; nothing was written"
        )
    differ = mismatched_workers(settings, os.environ)
    if differ:
        return (
            f"a Celery worker does not run with this run's settings, so its steps would load "
            f"another code location: {'; '.join(differ)}. Start every worker with the "
            "cluster's settings (`. env.sh` of `make cluster`, or your deployment's); nothing "
            "was written"
        )
    return None


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    if settings.executor.kind == "multiprocess":
        return dg.multiprocess_executor
    if settings.executor.kind != "celery":
        return dg.in_process_executor
    import warnings

    from dagster_celery import celery_executor

    # dagster-celery registers its one task again for each run a process starts (a backfill of
    # several runs, the evaluation), and Celery 5.7 warns on each: the same callable, harmless.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")

    @dg.executor(
        name="celery",
        config_schema=celery_executor.config_schema,
        requirements=dg.multiple_process_executor_requirements(),
    )
    def watched_celery(init_context):
        problem = workers_problem(init_context.executor_config["broker"])
        if problem:
            raise NoCeleryWorker(problem)
        from ..platform.celery_executor import watched_celery_executor

        return watched_celery_executor(init_context.executor_config)

    backend = (
        "WORKSHOP_CELERY_BACKEND" if settings.executor.own_backend else "WORKSHOP_CELERY_BROKER"
    )
    return watched_celery.configured(
        {
            "broker": {"env": "WORKSHOP_CELERY_BROKER"},
            "backend": {"env": backend},
            "config_source": CELERY_SETTINGS,
        },
        name="celery",
    )
