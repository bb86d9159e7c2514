"""The executor of the code location's jobs, from the settings: the in-process executor (the
default: a cycle's steps are short and share one warehouse, so one process a run is fastest),
or, in cluster mode (WORKSHOP_EXECUTOR=celery), dagster-celery's, each step a task its workers
take from the broker. The broker's URL reaches the executor through its variable (`env`), so
no run's stored configuration holds it (it may carry a password)."""

from __future__ import annotations

import dagster as dg

from ..config.settings import Settings


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    if settings.executor.kind != "celery":
        return dg.in_process_executor
    import warnings

    from dagster_celery import celery_executor

    # dagster-celery registers its one task again for each run a process starts (a backfill of
    # several runs, the evaluation), and Celery 5.7 warns on each: the same callable, harmless.
    warnings.filterwarnings("ignore", message="Task name 'execute_plan' is already registered")

    backend = (
        "WORKSHOP_CELERY_BACKEND" if settings.executor.own_backend else "WORKSHOP_CELERY_BROKER"
    )
    return celery_executor.configured(
        {"broker": {"env": "WORKSHOP_CELERY_BROKER"}, "backend": {"env": backend}},
        name="celery",
    )
