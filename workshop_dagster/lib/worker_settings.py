"""Every process of a cluster must run with the same WORKSHOP_* settings: a Celery worker started
with another cadence, warehouse or model would load another code location and write its steps'
rows by other rules, unseen. So a worker says what it runs with: `workshop_settings`, a Celery
control command this module registers when the worker imports it (named in the workers' Celery
settings, `lib/executor.CELERY_SETTINGS["imports"]`), answers a digest of each of its settings.
Before its first step a run compares them with its own and refuses to start if a worker differs,
naming the worker and the settings, never their values (a digest: a key or a password in a
setting is not sent). The data and runtime folders are each host's own and not compared."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping

PER_HOST = ("WORKSHOP_DATA_DIR", "WORKSHOP_RUNTIME_DIR")
COMMAND = "workshop_settings"


def digests(env: Mapping[str, str]) -> dict[str, str]:
    """Each WORKSHOP_* setting that is set (an empty one is unset), as a short digest."""
    return {
        name: hashlib.sha256(value.strip().encode()).hexdigest()[:16]
        for name, value in sorted(env.items())
        if name.startswith("WORKSHOP_") and name not in PER_HOST and value.strip()
    }


def differences(mine: Mapping[str, str], theirs: Mapping[str, str]) -> list[str]:
    """The settings set differently (or set on one side only)."""
    return sorted(name for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))


def mismatched_workers(replies: list[dict], env: Mapping[str, str]) -> list[str]:
    """For each worker whose settings differ from `env`'s, or that cannot say them, why."""
    mine = digests(env)
    problems = []
    for reply in replies:
        for worker, theirs in reply.items():
            if not isinstance(theirs, dict) or "error" in theirs:
                problems.append(
                    f"{worker} cannot say its settings (started without the cluster's Celery "
                    "settings: write its -y file with `python -m "
                    "workshop_dagster.commands.celery_yaml`)"
                )
                continue
            differ = differences(mine, theirs)
            if differ:
                problems.append(f"{worker} runs with other {', '.join(differ)}")
    return problems


try:  # registered in a worker (and harmlessly in a run's process) where Celery is installed
    from celery.worker.control import inspect_command
except ImportError:  # pragma: no cover - the cluster extra is not installed
    pass
else:

    @inspect_command(name=COMMAND)
    def _workshop_settings(state) -> dict[str, str]:  # noqa: ARG001 - Celery's signature
        return digests(os.environ)
