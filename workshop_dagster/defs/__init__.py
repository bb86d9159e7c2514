"""Dagster's definitions, one folder per domain (market, minds, predictions, track_record,
publish, cycle, operations), loaded by `dg.load_from_defs_folder` in `definitions.py`. Each folder
holds that domain's assets, checks, jobs, schedules and sensors; the domain code they call lives
in the plain packages beside this one (`market/`, `minds/`, `predictions/`, `publish/`)."""
