"""What the domains of `defs/` share, below them: the per-cycle asset kit (`per_cycle`: the
settings read once, the partitions, the run's cycle times, the sealed-input guard), the cycle
partitions, the SQL model loader, where a variant's assets live and its jobs, and the executor
(`executor`; the Celery workers' steps are watched by `platform/celery_executor`)."""
