"""The one `Definitions` of the Workshop code location: the domains' definitions from `defs/`
(Dagster's project layout), with the resources and the executor configured in one place.

`defs/` is read with `load_definitions_from_package_module`, not `load_from_defs_folder`: the
same folder, without the components machinery, whose cost every code-location load (so every
run process) would pay (docs/performance.md). The project has no components; `dg check defs` and
`dg list defs` read it all the same."""

from __future__ import annotations

import dagster as dg

from . import defs as domains
from .lib.executor import executor_for
from .lib.per_cycle import PARTITIONS, SETTINGS
from .platform.run_guard import patch_blocked_step_sleep
from .resources import build_resources

# Every run process loads this module: steps blocked on a pool then sleep instead of spinning.
patch_blocked_step_sleep()

defs = dg.Definitions.merge(
    dg.load_definitions_from_package_module(domains),
    dg.Definitions(
        resources=build_resources(SETTINGS),
        # Steps of a cycle are short and share one DuckDB file: one process per run is faster
        # (no process spawn per step) and the minds parallelize inside their own asset; in
        # cluster mode (WORKSHOP_EXECUTOR=celery) the steps go to Celery workers.
        executor=executor_for(SETTINGS),
    ),
)
# For runs built outside the code location (tests, the evaluation): every asset and check.
ASSETS = list(defs.assets or [])
CHECKS = list(defs.asset_checks or [])

__all__ = ["ASSETS", "CHECKS", "PARTITIONS", "SETTINGS", "defs"]
