"""`make backfill FROM=KEY TO=KEY` (`python -m workshop_dagster.commands.backfill`): run a job over a range
of cycles in one run, in the project's Dagster instance, then the rollups.

What the UI's *Materialize* over a range does, from a shell: the `cycle` job (or a side
variant's `<name>_cycle`, `JOB=placebo_cycle`) over the cycles from FROM to TO in one run, then
`rollups` (the record, the calibration, the rules, the variants' comparison and the site). The
runs are recorded in DAGSTER_HOME, or the project's `.dagster_home` when it is unset, so the UI
and the sensors see them. Cycles already sealed are left as published (`minds/published.py`);
`--amend` recomputes them and publishes what now differs as visible amendments. A key that is
not a cycle is refused by name, with the nearest cycles.
"""

from __future__ import annotations

import argparse
import sys

from ..config.settings import PROJECT_ROOT, SettingsError
from .job_runs import InstanceFolderError, project_instance, run_job


def cycle_range(first: str, last: str) -> list[str]:
    """The cycle keys from `first` to `last`, both cycles (refused by name otherwise)."""
    from ..definitions import PARTITIONS
    from ..lib.partitions import cycle_key_problem

    for name, key in (("FROM", first), ("TO", last)):
        problem = cycle_key_problem(key, PARTITIONS)
        if problem:
            raise SystemExit(f"{name}={key}: {problem}")
    if last < first:
        raise SystemExit(f"FROM={first} is after TO={last}")
    keys = PARTITIONS.get_partition_keys()
    return [k for k in keys if first <= k <= last]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop_dagster.commands.backfill", description=__doc__
    )
    parser.add_argument("first", metavar="FROM", help="the first cycle, e.g. 2026-03-02-09:15")
    parser.add_argument("last", metavar="TO", help="the last cycle, e.g. 2026-03-31-19:15")
    parser.add_argument(
        "--job", default="cycle", help="the job to run: cycle (default) or <variant>_cycle"
    )
    parser.add_argument(
        "--amend",
        action="store_true",
        help="recompute cycles already sealed; what now differs is published as amendments",
    )
    parser.add_argument("--no-rollups", action="store_true", help="skip the rollups run")
    args = parser.parse_args(argv)
    try:
        keys = cycle_range(args.first, args.last)
        instance = project_instance(PROJECT_ROOT)
        where = f" (the run is in `make ui`, DAGSTER_HOME={instance.root_directory})"
        tags = {"workshop/amend": "true"} if args.amend else None
        run_job("project_job", instance, keys, where, args=(args.job,), tags=tags)
        print(f"{args.job}: {len(keys)} cycle(s), {keys[0]} .. {keys[-1]}")
        if not args.no_rollups:
            # A side variant's own rollups (its record and its comparison with the loop).
            rollups = (
                "rollups" if args.job == "cycle" else args.job.removesuffix("_cycle") + "_rollups"
            )
            run_job("project_job", instance, where=where, args=(rollups,))
            print(f"{rollups}: the record, the calibration, the rules and the site rebuilt")
    except (SettingsError, InstanceFolderError) as exc:
        raise SystemExit(f"workshop: {exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
