"""`python -m workshop_dagster.commands.celery_yaml [FILE]`: write the file Celery workers start
with (`dagster-celery worker start -A dagster_celery.app -y FILE`) from the cluster's settings:
the broker of WORKSHOP_CELERY_BROKER (and WORKSHOP_CELERY_BACKEND, if set) and the Celery
settings the runs count on (`lib/executor.CELERY_SETTINGS`: a started step names its worker, a
worker takes no step it cannot start). The file holds the broker's URL: it is written 0600."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from ..config.cluster import ClusterSettingsError, executor_settings
from ..lib.executor import celery_yaml
from .local_servers import write_private


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "celery.yaml")
    env = dict(os.environ)
    try:
        if executor_settings(env).kind != "celery":
            raise ClusterSettingsError("set WORKSHOP_EXECUTOR=celery (cluster mode) first")
    except ClusterSettingsError as exc:
        print(f"celery_yaml: {exc}", file=sys.stderr)
        return 2
    text = yaml.safe_dump(
        celery_yaml(env["WORKSHOP_CELERY_BROKER"], env.get("WORKSHOP_CELERY_BACKEND") or None)
    )
    write_private(path, text)
    print(f"celery_yaml: wrote {path} (0600: it holds the broker's URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
