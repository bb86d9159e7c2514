"""Cluster mode, set by configuration: WORKSHOP_EXECUTOR=celery sends each step of a run to a
Celery worker (dagster-celery; docs/operations.md, "A cluster"), through the broker at
WORKSHOP_CELERY_BROKER (Redis); the default, `in_process`, runs a run's steps in its own
process; `multiprocess` gives each step a process of its own on the run's machine (Dagster's
multiprocess executor: what the cluster's per-step cost is measured against). Checked when the code location loads, like every setting. The broker's URL is never
put in the executor's config (stored with every run): the executor reads the variable."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from urllib.parse import urlsplit

EXECUTORS = ("in_process", "multiprocess", "celery")
BROKER_SCHEMES = ("redis", "rediss", "amqp", "pyamqp")


class ClusterSettingsError(ValueError):
    """A cluster setting is wrong; the message names the variable."""


@dataclass(frozen=True)
class ExecutorSettings:
    kind: str = "in_process"
    # Whether WORKSHOP_CELERY_BACKEND is set (else the results go through the broker's URL).
    own_backend: bool = False


def executor_settings(env: dict[str, str]) -> ExecutorSettings:
    kind = env.get("WORKSHOP_EXECUTOR", "").strip() or "in_process"
    if kind not in EXECUTORS:
        raise ClusterSettingsError(
            f"WORKSHOP_EXECUTOR={kind!r} is not an executor: use {' or '.join(EXECUTORS)}"
        )
    if kind != "celery":
        return ExecutorSettings(kind)
    for name in ("WORKSHOP_CELERY_BROKER", "WORKSHOP_CELERY_BACKEND"):
        url = env.get(name, "").strip()
        if not url and name == "WORKSHOP_CELERY_BACKEND":
            continue
        if not url:
            raise ClusterSettingsError(
                "WORKSHOP_EXECUTOR=celery needs WORKSHOP_CELERY_BROKER, the broker's URL (e.g. "
                "redis://127.0.0.1:6379/0; `make cluster` starts one)"
            )
        scheme = urlsplit(url).scheme
        if scheme not in BROKER_SCHEMES:
            raise ClusterSettingsError(
                f"{name} must be a {', '.join(s + '://' for s in BROKER_SCHEMES)} URL, "
                f"not {scheme + '://' if scheme else 'a bare host'}"
            )
    if importlib.util.find_spec("dagster_celery") is None:
        raise ClusterSettingsError(
            "WORKSHOP_EXECUTOR=celery needs dagster-celery: .venv/bin/pip install -e '.[cluster]'"
        )
    return ExecutorSettings("celery", bool(env.get("WORKSHOP_CELERY_BACKEND", "").strip()))
