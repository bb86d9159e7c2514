"""What the two model-path benchmarks share (claude_path.py, openai_path.py): a throwaway
instance and warehouse, two consecutive cycles' market, each cycle's `deliberation` against a
test server in its own process with 1 s of latency a call, then the same cycles again as a
repeated backfill; printed as the share of prompt tokens read from the cached prefix per call,
one cycle's deliberation against four serial calls, and the requests the repeat made."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from _common import PROJECT, report

LATENCY_S = 1.0
FIRST_CYCLE = "2026-03-30-09:15"  # and the cycle after it (the repeated backfill is their range)
DELIBERATION = ["mind_context", "mind_opinions", "debate", "memo", "llm_calls", "predictions"]


def throwaway_instance(key_env: dict[str, str]) -> None:
    """A temporary DAGSTER_HOME (the project's dagster.yaml) and warehouse, and the server's key."""
    tmp = Path(tempfile.mkdtemp(prefix="workshop-bench-"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    os.environ.update(
        {
            "DAGSTER_HOME": str(home),
            "WORKSHOP_DATA_DIR": str(tmp / "data"),
            "WORKSHOP_DB": str(tmp / "data" / "workshop.duckdb"),
            **key_env,
        }
    )


def measure(name: str, served, make_llm: Callable[[str], object], tiny: bool, cache: str) -> None:
    """Run the deliberations through the server `served` starts (a context manager yielding its
    URL and a function listing the requests so far) with the engine `make_llm(url)` gives, and
    report. `cache` says how the server credits a cached prefix."""
    import dagster as dg

    from tests.integration.helpers import materialize, query
    from workshop_dagster.lib.partitions import cycle_partitions
    from workshop_dagster.registry.minds import mind_names

    # Two consecutive cycles of the active cadence: a range of two cycles that are not would
    # take in the cycles between, whose market the benchmark has not materialized.
    keys = cycle_partitions().get_partition_keys()
    second = keys[keys.index(FIRST_CYCLE) + 1]
    cycles = [FIRST_CYCLE] if tiny else [FIRST_CYCLE, second]
    minds_only = dg.AssetSelection.assets(*DELIBERATION).without_checks()
    with served as (url, requests_so_far):
        llm = make_llm(url)
        walls, cycles_s = [], []
        for key in cycles:
            assert materialize(key, selection=dg.AssetSelection.groups("market")).success
            result = materialize(key, selection=minds_only, llm=llm)
            assert result.success
            # The step that asks the model (inputs read, context built, outputs written included).
            stats = dg.DagsterInstance.get().get_run_step_stats(result.run_id)
            step = next(s for s in stats if s.step_key == "deliberation")
            walls.append(step.end_time - step.start_time)
            memo = next(
                m
                for m in result.get_asset_materialization_events()
                if m.asset_key == dg.AssetKey("memo")
            )
            cycles_s.append(memo.materialization.metadata["minds_seconds_per_cycle"].value)
        first_pass = requests_so_far()
        calls = query(
            "select cycle_key, source, input_tokens, cache_read_tokens, cache_write_tokens "
            "from llm_calls where outcome = 'ok' order by rowid"
        )
        # The same cycles again, as a repeated backfill: answered from the replay cache.
        assert materialize(cycles, selection=minds_only, llm=llm).success
        repeated = len(requests_so_far()) - len(first_pass)
    total = calls["input_tokens"] + calls["cache_read_tokens"] + calls["cache_write_tokens"]
    calls["cached_share"] = (calls["cache_read_tokens"] / total).round(3)
    print(calls[["cycle_key", "source", "cached_share"]].to_string(index=False))
    serial = 4 * LATENCY_S
    wall, cycle = walls[-1], cycles_s[-1]
    print(
        f"one cycle's deliberation: {cycle:.2f} s ({cycle / serial:.2f}x 4 serial calls of "
        f"{LATENCY_S:.0f} s); the whole step with its reads and writes: {wall:.2f} s "
        f"({wall / serial:.2f}x)   requests on the repeated backfill: {repeated}"
    )
    # The first mind sent (mind_names()[0]) writes the cycle's prefix; every later call can read it.
    share = calls[calls["source"] != mind_names()[0]]["cached_share"].mean()
    print(
        f"cached share of prompt tokens from the second call of each cycle on: {share:.2f} ({cache})"
    )
    report(name, cycle, "s per cycle", cycle / serial, "4 serial calls; target <= 0.55")
