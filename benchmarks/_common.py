"""Shared helpers for the benchmark scripts: temporary project state, timed CLI runs, the
result line every benchmark ends with (`name: value unit (ratio vs baseline)`)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SHARED_MARKET = PROJECT.parent / "shared" / "data" / "market"
sys.path.insert(0, str(PROJECT))


def arguments(
    description: str, postgres: bool = False, year: bool = False, lake: bool = False
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--tiny", action="store_true", help="a tiny size: proves the script runs (the test suite)"
    )
    if year:
        parser.add_argument("--year", action="store_true", help="a whole year, once")
    if postgres:
        parser.add_argument(
            "--postgres",
            action="store_true",
            help="store the Dagster instance in a PostgreSQL server started on 127.0.0.1 "
            "(the production setting of docs/operations.md; needs Debian's postgresql)",
        )
    if lake:
        parser.add_argument(
            "--lake",
            action="store_true",
            help="the warehouse in a DuckLake whose catalog is a PostgreSQL server started on "
            "127.0.0.1 (docs/operations.md, 'A shared warehouse'; needs Debian's postgresql)",
        )
    return parser.parse_args()


@contextmanager
def workspace(postgres: bool = False, lake: bool = False, **settings: str):
    """A temporary warehouse (a DuckDB file, or a DuckLake on PostgreSQL) and DAGSTER_HOME
    (SQLite, or PostgreSQL as docs/operations.md configures it); yields the environment for
    child processes."""
    with (
        tempfile.TemporaryDirectory(prefix="workshop-bench-") as tmp,
        _instance_db(postgres or lake) as pg,
    ):
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        instance = (PROJECT / "dagster.yaml").read_text()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSHOP_")}
        if postgres:
            import yaml

            from tests.e2e.test_postgres_instance import documented_instance

            instance = yaml.safe_dump(documented_instance())
            env |= {
                "DAGSTER_PG_HOST": pg.host,
                "DAGSTER_PG_PORT": str(pg.port),
                "DAGSTER_PG_USER": pg.user,
                "DAGSTER_PG_PASSWORD": pg.password,
            }
        (home / "dagster.yaml").write_text(instance)
        env |= {
            "DAGSTER_HOME": str(home),
            "WORKSHOP_DATA_DIR": str(Path(tmp) / "data"),
            "WORKSHOP_DB": str(Path(tmp) / "data" / "workshop.duckdb"),
            **settings,
        }
        if lake:
            pg.psql("postgres", "create database workshop_lake")
            env |= {
                "WORKSHOP_DB": f"ducklake:postgres:dbname=workshop_lake host={pg.host} "
                f"port={pg.port} user={pg.user}",
                "WORKSHOP_LAKE_DATA": str(Path(tmp) / "lake"),
                "PGPASSWORD": pg.password,
            }
        # Create the instance's storage once, before any timed run.
        run([str(BIN / "dagster"), "instance", "info"], env)
        yield env, Path(tmp)


@contextmanager
def _instance_db(postgres: bool):
    if not postgres:
        yield None
        return
    from tests.e2e.dagster_dev import free_port
    from tests.e2e.postgres import running_postgres

    with running_postgres(free_port()) as pg:
        yield pg


def run(args: list[str], env: dict[str, str], cwd: Path = PROJECT) -> float:
    """Run a command to completion; its wall time in seconds (a failure stops the benchmark)."""
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(
            f"benchmark command failed: {' '.join(args)}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return elapsed


def interleaved(times: int, fn, baseline) -> tuple[list[float], list[float]]:
    """Each measured `times` times, in turns (fn, baseline, fn, ...): a machine that slows down
    or speeds up during the benchmark then weighs on both sides alike."""
    pairs = [(fn(), baseline()) for _ in range(times)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def report(name: str, value: float, unit: str, ratio: float | None, baseline: str) -> None:
    """The last line of every benchmark."""
    suffix = f" ({ratio:.2f}x vs {baseline})" if ratio is not None else f" ({baseline})"
    print(f"{name}: {value:.3g} {unit}{suffix}", flush=True)


BARE_PROJECT = """
import dagster as dg

ASSETS = [
    dg.asset(name=f"asset_{i}")(lambda: 1) for i in range({n})
]
defs = dg.Definitions(assets=ASSETS)
"""


def bare_project(folder: Path, n_assets: int) -> str:
    """A bare Dagster project with `n_assets` trivial assets; returns its module name."""
    (folder / "bare_defs.py").write_text(BARE_PROJECT.replace("{n}", str(n_assets)))
    return "bare_defs"
