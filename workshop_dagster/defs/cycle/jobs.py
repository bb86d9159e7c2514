"""The `cycle` job (a cycle end to end, through its post) and its schedule.

One schedule tick per cycle: each tick materializes exactly the cycle it names.

(`build_schedule_from_partitioned_job` picks "the latest partition", which, around excluded
holiday ticks, can be the next trading day's first cycle, ahead of its time. This schedule maps
the tick time to its own cycle key and skips ticks that are not cycles.)
"""

import dagster as dg

from ...lib.partitions import key_to_time, time_to_key
from ...lib.per_cycle import PARTITIONS
from ...lib.variant_jobs import variant_jobs  # noqa: F401 - loaded as definitions from here
from ...market import calendar

cycle_job = dg.define_asset_job(
    "cycle",
    selection=dg.AssetSelection.groups("market", "minds", "predictions")
    | dg.AssetSelection.assets("posts"),
    description="One cycle of the loop: market data, features, regime, minds, memo, "
    "predictions (with their checks) and the scores of calls whose horizon has ended.",
)


def build_cycle_schedule(cycle_job, partitions: dg.TimeWindowPartitionsDefinition):
    @dg.schedule(
        name="cycle_schedule",
        job=cycle_job,
        cron_schedule=partitions.cron_schedule,
        execution_timezone=partitions.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Runs each cycle (market, minds, memo, predictions, post) at its time; "
        "ticks on NYSE holidays are skipped.",
    )
    def cycle_schedule(context: dg.ScheduleEvaluationContext):
        key = time_to_key(context.scheduled_execution_time)
        # (The in-progress window is a partition even on a closed day: check the calendar too.)
        if not calendar.is_session(key_to_time(key)):
            return dg.SkipReason(f"{key} is not a cycle (the NYSE is closed)")
        if not partitions.has_partition_key(key):
            return dg.SkipReason(f"{key} is not a cycle (skipped by WORKSHOP_CYCLE_SKIP)")
        return dg.RunRequest(run_key=f"cycle:{key}", partition_key=key)

    return cycle_schedule


cycle_schedule = build_cycle_schedule(cycle_job, PARTITIONS)
