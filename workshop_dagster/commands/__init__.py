"""The programs `make` runs, each `python -m workshop_dagster.commands.<name>`: `demo` and
`backfill` (a job over a range of cycles in this process: `job_runs`), `verify` (the sealed
record against the warehouse and the site), `copy_to_lake` (a file warehouse into a DuckLake), `cluster` (a local cluster: `make cluster`,
its servers in `local_servers`), `celery_yaml` (the file Celery workers start with)."""
