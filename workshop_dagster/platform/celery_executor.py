"""dagster-celery's executor with each step's worker watched (`worker_watch`): a step whose
worker dies, or whose task raised, becomes the step's failure, where dagster-celery's loop would
wait for ever; and the run is recorded as the process of its executor (`run_guard`), not of the
Celery worker that ran its last step (a worker outlives the runs it serves). Built by
`lib/executor.py` in cluster mode."""

from __future__ import annotations

import dagster as dg


def _step_failure(step_context, exc: BaseException) -> str:
    """The step's failure event (stored as it is made), serialized as a worker sends events."""
    from dagster._core.execution.plan.objects import StepFailureData
    from dagster._serdes import serialize_value
    from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info

    if exc.__traceback__ is None:  # made here, not raised (a lost worker)
        error = SerializableErrorInfo(f"{type(exc).__name__}: {exc}\n", [], type(exc).__name__)
    else:
        error = serializable_error_info_from_exc_info((type(exc), exc, exc.__traceback__))
    event = dg.DagsterEvent.step_failure_event(
        step_context, StepFailureData(error=error, user_failure_data=None)
    )
    return serialize_value(event)


def watched_celery_executor(config: dict):
    """dagster-celery's executor with each step's worker watched (`worker_watch`)."""
    from dagster._core.execution.retries import RetryMode
    from dagster_celery.core_execution_loop import core_celery_execution_loop
    from dagster_celery.executor import CeleryExecutor, _submit_task

    from .run_guard import record_run_process
    from .worker_watch import WatchedResult, WorkerWatch

    class WatchedCeleryExecutor(CeleryExecutor):
        def execute(self, plan_context, execution_plan):
            instance, run_id = plan_context.instance, plan_context.dagster_run.run_id
            # The run lives in this process; its steps' processes are the workers'.
            record_run_process(instance, run_id)
            watch: WorkerWatch | None = None  # of the loop's one Celery app, made with it

            def submit(app, context, step, queue, priority, known_state):
                nonlocal watch
                result = _submit_task(app, context, step, queue, priority, known_state)
                watch = watch or WorkerWatch(app)

                def give_back_slot(step_key: str = step.key) -> None:
                    storage = instance.event_log_storage
                    if storage.supports_global_concurrency_limits:
                        storage.free_concurrency_slot_for_step(run_id, step_key)

                def failed(exc: BaseException, step=step) -> str:
                    return _step_failure(context.for_step(step), exc)

                return WatchedResult(result, step.key, watch, give_back_slot, failed)

            return core_celery_execution_loop(
                plan_context, execution_plan, step_execution_fn=submit
            )

    return WatchedCeleryExecutor(
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),
    )
