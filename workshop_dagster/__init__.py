"""Workshop: an autonomous, self-scoring market-analysis loop orchestrated by Dagster.

The package, from the code location down:
    definitions.py  the code location: `defs/` merged with the resources and the executor
    resources.py    every resource, configured once from the settings
    defs/           Dagster's definitions, one folder a domain (market, minds, predictions,
                    track_record, publish, variants, cycle, operations)
    lib/            what the domains of defs/ share: the per-cycle asset kit, the cycle
                    partitions, the SQL model loader, the variants' jobs and places, the
                    executor (in-process or Celery, its steps' workers watched)
    commands/       the programs `make` runs: demo, backfill, verify, copy-to-lake, cluster
    evaluation/     `make evaluate` and `make compare`
    config/         the settings (WORKSHOP_*), the variants (variants.yaml) and their personas
    market/ minds/ predictions/ portfolio/ publish/
                    the domain: plain Python, nothing from Dagster
    store/          the warehouse: every table, its SQL, the file or the lake behind one door
    registry/       what the code knows by name: the minds, model prices, model servers
    platform/       what subclasses or works around Dagster's internals (README.md there)
    event_log.py    the event log under its former path, for instance files that name it
"""

import os
import warnings

# Single-run backfill policies and partitioned asset checks are the documented way to do what
# this project does; Dagster's beta/preview labels on them are not news to the people running it.
warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")

# A single-run backfill of a year of cycles logs one "planned" event per asset instead of one per
# asset and cycle: half the instance writes (docs/performance.md). The trade-off, per Dagster:
# cycles of a failed range run show as missing, not failed (the run itself says failed). Set by
# whichever process creates the run: the CLI and run workers import this package; `make ui`
# exports it for the webserver and daemon.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
# The events of one output over a range of cycles are handed to the event log as one batch, of
# at most this many (Dagster's switch; the project's SQLite event log, platform/event_log.py,
# writes a batch in one transaction, as Dagster's PostgreSQL storage does).
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
