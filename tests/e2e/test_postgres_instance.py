"""The documented production setting: the Dagster instance stored in a real PostgreSQL server."""

import re
import textwrap

import pytest
import yaml

from tests.conftest import PROJECT
from tests.e2e.dagster_dev import free_port, running_dagster_dev, temporary_workshop_env
from tests.e2e.postgres import running_postgres

pytestmark = pytest.mark.e2e
CYCLE = "2026-04-01-19:15"
BACKFILL = ["2026-04-02-09:15", "2026-04-02-19:15"]


def documented_instance() -> dict:
    """The project's dagster.yaml with the storage block of docs/operations.md in place of its
    SQLite event log, as the docs tell users, so the test proves what the docs say."""
    text = (PROJECT / "docs" / "operations.md").read_text()
    block = re.search(r"```yaml\n( *storage:\n.*?)```", text, re.S)
    assert block, "docs/operations.md has no storage block"
    storage = yaml.safe_load(textwrap.dedent(block.group(1)))
    assert "postgres" in storage["storage"]
    instance = yaml.safe_load((PROJECT / "dagster.yaml").read_text())
    del instance["event_log_storage"]
    return instance | storage


def test_a_cycle_and_a_backfill_with_the_instance_in_postgres(tmp_path):
    instance_yaml = documented_instance()
    with running_postgres(free_port()) as pg:
        env = temporary_workshop_env(
            tmp_path,
            dagster_yaml=yaml.safe_dump(instance_yaml),
            extra={
                "DAGSTER_PG_HOST": pg.host,
                "DAGSTER_PG_PORT": str(pg.port),
                "DAGSTER_PG_USER": pg.user,
                "DAGSTER_PG_PASSWORD": pg.password,
            },
        )
        with running_dagster_dev(env) as dev:
            run_id = dev.launch_cycle(CYCLE)
            assert dev.wait_for_run(run_id) == "SUCCESS"
            backfill_id = dev.launch_backfill(BACKFILL)
            assert dev.wait_for_backfill(backfill_id) in ("COMPLETED", "COMPLETED_SUCCESS")
            log = dev.log.read_text()

        # Runs and the backfill live in PostgreSQL, not in SQLite files under DAGSTER_HOME.
        runs = pg.psql("dagster", "select run_id, status from runs order by create_timestamp")
        assert f"{run_id}|SUCCESS" in runs.splitlines()
        assert sum(line.endswith("|SUCCESS") for line in runs.splitlines()) >= 2
        backfills = pg.psql("dagster", "select key, status from bulk_actions").splitlines()
        assert len(backfills) == 1 and backfills[0].startswith(f"{backfill_id}|COMPLETED")
        partitions = pg.psql(
            "dagster",
            "select distinct partition from event_logs where partition is not null order by 1",
        ).splitlines()
        assert {CYCLE, *BACKFILL} <= set(partitions)
    home = tmp_path / "dagster_home"
    assert not (home / "history" / "runs.db").exists()
    assert pg.password not in log, "the database password must not reach a log"
