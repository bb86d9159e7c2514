"""A snapshot of the asset graph: keys, groups, partitions, dependencies, checks, automation,
pools and backfill policies. An upgrade or a restructuring that changes the graph shows here.

Regenerate after an intended change: `UPDATE_SNAPSHOTS=1 pytest tests/integration/test_asset_specs.py`.
"""

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_specs.json"


def _graph() -> dict:
    from workshop_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    out = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        condition = node.automation_condition
        policy = node.backfill_policy
        out[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": None
            if partitions is None
            else f"{type(partitions).__name__}({partitions.cron_schedule}, {partitions.timezone})",
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "automation": None
            if condition is None
            else condition.get_label() or type(condition).__name__,
            "pools": sorted(node.pools or []),
            "backfill": None if policy is None else policy.policy_type.value,
            "kinds": sorted(node.kinds),
        }
    jobs = {
        j.name: sorted(
            k.to_user_string()
            for k in defs.resolve_job_def(j.name).asset_layer.executable_asset_keys
        )
        for j in defs.jobs
    }
    return {
        "assets": out,
        "jobs": jobs,
        "schedules": sorted(s.name for s in defs.schedules),
        "sensors": sorted(s.name for s in defs.sensors),
        "resources": sorted(defs.resources),
    }


def test_the_asset_graph_matches_its_snapshot():
    graph = _graph()
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(graph, indent=1, sort_keys=True) + "\n")
    assert graph == json.loads(SNAPSHOT.read_text())


def test_loading_the_code_location_imports_no_data_library(tmp_path):
    """Every run, sensor tick and UI reload loads the code location: pandas, numpy, duckdb and
    the heavy optional libraries are imported by the steps that use them, not by the load. (The
    first load of a day builds the partitions' closed days into the cache, with pandas and
    exchange_calendars; every later load reads the cache.)"""
    import os
    import subprocess
    import sys

    heavy = ["pandas", "numpy", "duckdb", "great_expectations", "yfinance", "anthropic", "openai"]
    probe = (
        "import sys, workshop_dagster.definitions; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    env = os.environ | {"WORKSHOP_DATA_DIR": str(tmp_path)}

    def load() -> str:
        command = [sys.executable, "-c", probe]
        return subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout

    load()  # the day's first load fills the cache
    out = load()
    assert out.strip() == "", f"the load imported {out.strip()}"
