"""A model variant beside the offline minds in one warehouse, as a user runs it from the CLI:
`WORKSHOP_VARIANTS=qwen_local` and its job, against a chat-completions server on 127.0.0.1."""

import json
from pathlib import Path

import duckdb
import pytest

from tests.e2e.processes import BIN, env_with, run
from tests.openai_server import ChatServer

pytestmark = pytest.mark.e2e
JOB = [str(BIN / "dagster"), "job", "execute", "-m", "workshop_dagster.definitions", "-j"]
CYCLE = "2026-03-30-19:15"
KEY = "sk-local-test-DO-NOT-LEAK-55"


def test_a_local_model_variant_runs_beside_the_offline_loop_and_replays_on_a_rerun(
    workshop_env, tmp_path
):
    span = json.dumps(
        {"dagster/asset_partition_range_start": CYCLE, "dagster/asset_partition_range_end": CYCLE}
    )
    with ChatServer("vllm") as server:
        env = env_with(
            workshop_env
            | {
                "WORKSHOP_VARIANTS": "qwen_local",
                "WORKSHOP_LLM_BASE_URL": server.url,
                "OPENAI_API_KEY": KEY,
            }
        )
        for job in ("cycle", "qwen_local_cycle"):
            code, out = run([*JOB, job, "--tags", span], env, timeout=600)
            assert code == 0, out[-3000:]
        assert sorted(r["kind"] for r in server.requests) == [
            "contrarian",
            "flow",
            "macro",
            "synthesis",
        ]
        code, out = run([*JOB, "qwen_local_cycle", "--tags", span], env, timeout=600)
        assert code == 0, out[-3000:]
        assert len(server.requests) == 4, "the variant's sealed cycle is not asked again"
    assert KEY not in out
    with duckdb.connect(workshop_env["WORKSHOP_DB"], read_only=True) as conn:
        loop = conn.execute("select model, written_by from memo").fetchone()
        local = conn.execute("select model, written_by from qwen_local.memo").fetchone()
        bars = conn.execute("select count(*) from market_bars").fetchone()[0]
    assert loop == ("offline", "offline minds")
    assert local[0] == "qwen2.5:14b" and local[1].startswith("openai at 127.0.0.1:")
    assert bars == 17, "the variant read the loop's market rows, never wrote its own"
    # The key is in no file of the instance or the warehouse folder.
    for folder in (workshop_env["DAGSTER_HOME"], workshop_env["WORKSHOP_DATA_DIR"]):
        for path in Path(folder).rglob("*"):
            if path.is_file():
                assert KEY.encode() not in path.read_bytes(), path
