"""A job of the definitions run in this process over a range of cycles, as `make demo` and
`make evaluate` do: one single run, quiet logs, and the failed steps in words on failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg


def instance_folder(project_root: Path, data_dir: Path | None = None) -> Path:
    """Where the project's runs are recorded when DAGSTER_HOME is not set (the Makefile's rule
    too): `.dagster_home` beside the warehouse's data folder, so a second data folder (a warehouse
    holds one market source: docs/operations.md) keeps its own run history; the project's own
    `.dagster_home` for the default `data/`."""
    if data_dir is None:
        from ..config.settings import active

        data_dir = active().data_dir
    data_dir = Path(data_dir).expanduser().resolve()
    if data_dir == (project_root / "data").resolve():
        return project_root / ".dagster_home"
    return data_dir / ".dagster_home"


def project_instance(project_root: Path, data_dir: Path | None = None) -> dg.DagsterInstance:
    """The Dagster instance in DAGSTER_HOME, or, when it is not set, the project's own
    (`instance_folder` of `data_dir`, default the settings': what `make ui` shows), made from
    the project's dagster.yaml if missing and never overwritten, as `make` does."""
    if not os.environ.get("DAGSTER_HOME"):
        home = instance_folder(project_root, data_dir)
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            shutil.copyfile(project_root / "dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    problem = instance_folder_problem(Path(os.environ["DAGSTER_HOME"]))
    if problem:
        raise InstanceFolderError(problem)
    return dg.DagsterInstance.get()


class InstanceFolderError(RuntimeError):
    """The Dagster instance's folder cannot hold the runs (missing, or not writable)."""


def instance_folder_problem(home: Path) -> str | None:
    """Why the instance in `home` cannot record runs, naming the folder or file (None: it can).
    Dagster itself says only "unable to open database file" when one is read-only."""
    if not (home / "dagster.yaml").exists():
        return f"DAGSTER_HOME={home} has no dagster.yaml (make instance, or unset DAGSTER_HOME)"
    stores = [home, *(p for p in (home / "history", home / "schedules", home / "storage"))]
    stores += sorted(home.glob("history/*.db")) + sorted(home.glob("history/events/*.db"))
    for path in stores:
        if path.exists() and not os.access(path, os.W_OK):
            return (
                f"the Dagster instance cannot record runs: {path} is not writable (a read-only "
                "folder or file system?). Give DAGSTER_HOME a writable folder, or make this "
                "one writable"
            )
    return None


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def project_job(name: str) -> dg.JobDefinition:
    """Job `name` of the project's definitions."""
    from ..definitions import defs

    return defs.resolve_job_def(name)


def loop_job() -> dg.JobDefinition:
    """The loop's assets (market, minds and predictions groups, with their checks) as one job,
    on the in-process executor: what a walk-forward replays."""
    from ..config.settings import active
    from ..definitions import ASSETS, CHECKS
    from ..resources import build_resources

    job = dg.define_asset_job(
        "evaluate", selection=dg.AssetSelection.groups("market", "minds", "predictions")
    )
    defs = dg.Definitions(
        assets=ASSETS,
        asset_checks=CHECKS,
        jobs=[job],
        resources=build_resources(active()),
        executor=dg.in_process_executor,
    )
    return defs.resolve_job_def("evaluate")


def run_job(
    job: str,
    instance: dg.DagsterInstance,
    keys: list[str] | None = None,
    where: str = "",
    args: tuple = (),
    tags: dict[str, str] | None = None,
) -> dg.ExecuteJobResult:
    """Run the job this module's function `job` builds (with `args`) over the cycle keys (a
    single-run range), or unpartitioned without keys; a failure stops the program with each
    failed step and its error (`where` says where the run can be inspected).

    Through `dagster.execute_job`, as `dagster job execute` runs it: `execute_in_process` would
    keep every output of every step in memory until the run ends (a year of cycles: ~0.5 GB of
    frames the run has already written). `tags`: the run's own (workshop/amend)."""
    tags = dict(tags or {}) | (
        {
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
        }
        if keys
        else {}
    )
    recon = dg.build_reconstructable_job(__name__, job, reconstructable_args=args)
    result = dg.execute_job(
        recon, instance=instance, run_config=QUIET, tags=tags, raise_on_error=False
    )
    name = result.job_def.name
    if not result.success:
        raise SystemExit(f"the {name} job failed{where}:\n" + "\n".join(failures(result)))
    return result


def failures(result) -> list[str]:
    """Each failed step, or the run's resources that could not start, with its cause."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            lines.append(f"- {event.step_key}: {cause(event.step_failure_data.error)}")
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":
            lines.append(f"- before any step: {cause(event.event_specific_data.error)}")
    return lines or ["- the run failed before any step (see the run's log)"]


WRAPPER = "Error occurred while executing"


def cause(error) -> str:
    """What went wrong in a step, in words: the messages along the error's cause chain, without
    Dagster's "Error occurred while executing op …" wrapper (which names only the step)."""
    messages, seen = [], error
    while seen is not None:
        text = seen.message.strip()
        if not text.startswith("dagster._core.errors.") and WRAPPER not in text:
            messages.append(text)
        seen = seen.cause
    return "\n    ".join(messages) or error.message.strip()
