"""OpenAI-compatible path, against the test chat-completions server on 127.0.0.1 streaming
vLLM's chunks with 1 s of latency per call (the real `openai` client over HTTP): one cycle's
deliberation (context, three concurrent minds, synthesis, parsing: the memo's
`minds_seconds_per_cycle`) vs four serial calls, and the whole `deliberation` step; the share of
prompt tokens the server reports as cached per call; and the requests a repeated backfill of the
same cycles makes (the replay cache should make it zero). Every reply is streamed; the other two
minds are sent when the first one's reply begins, so a server that caches prefixes (vLLM) serves
them the cycle's data from its cache. Needs nothing from ../shared."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _common import PROJECT, arguments, report

LATENCY_S = 1.0
FIRST_CYCLE = "2026-03-30-09:15"  # and the cycle after it (the repeated backfill is their range)
DELIBERATION = ["mind_context", "mind_opinions", "debate", "memo", "llm_calls", "predictions"]


def main() -> None:
    args = arguments(__doc__)
    tmp = Path(tempfile.mkdtemp(prefix="workshop-bench-"))
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    os.environ.update(
        {
            "DAGSTER_HOME": str(home),
            "WORKSHOP_DATA_DIR": str(tmp / "data"),
            "WORKSHOP_DB": str(tmp / "data" / "workshop.duckdb"),
            "OPENAI_API_KEY": "sk-bench-not-a-secret",
        }
    )
    import dagster as dg
    import openai  # noqa: F401 - imported before timing, as a running code server has it

    from tests.integration.helpers import materialize, query
    from tests.openai_server import chat_server_process
    from workshop_dagster.mind_registry import mind_names
    from workshop_dagster.partitions import cycle_partitions
    from workshop_dagster.resources import LLMResource

    # Two consecutive cycles of the active cadence: a range of two cycles that are not would
    # take in the cycles between, whose market the benchmark has not materialized.
    keys = cycle_partitions().get_partition_keys()
    second = keys[keys.index(FIRST_CYCLE) + 1]
    cycles = [FIRST_CYCLE] if args.tiny else [FIRST_CYCLE, second]
    minds_only = dg.AssetSelection.assets(*DELIBERATION).without_checks()
    # The server runs in its own process, as the real API is remote: in this one its work per
    # request would compete with the client for the GIL and be counted as the client's.
    with chat_server_process("vllm", latency_s=LATENCY_S) as (url, requests_so_far):
        llm = LLMResource(
            provider="openai",
            base_url=url,
            mind_model="qwen2.5:14b",
            synthesis_model="qwen2.5:14b",
            timeout_s=10.0,
            replay_database=os.environ["WORKSHOP_DB"],
        )
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
        f"({wall / serial:.2f}x)   API calls on the repeated backfill: {repeated}"
    )
    # The first mind sent (mind_names()[0]) writes the cycle's prefix; every later call can read it.
    share = calls[calls["source"] != mind_names()[0]]["cached_share"].mean()
    print(
        f"cached share of prompt tokens from the second call of each cycle on: {share:.2f} (the "
        "server caches a prefix once a reply carrying it has begun, as vLLM does)"
    )
    report("openai_path", cycle, "s per cycle", cycle / serial, "4 serial calls; target <= 0.55")


if __name__ == "__main__":
    main()
