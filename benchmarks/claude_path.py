"""Claude path, against the test Messages-API server on 127.0.0.1 with 1 s of latency per call
(the real `anthropic` client over HTTP): one cycle's deliberation (context, three concurrent
minds, synthesis, parsing: the memo's `minds_seconds_per_cycle`) vs four serial calls, and the
whole `deliberation` step (its reads and six table writes too); the share of input tokens read
from the cached prefix per call; and the API calls a repeated backfill of the same cycles makes
(the replay cache should make it zero). The first mind's reply is streamed and the other two
are sent when it begins, so they read the cycle's data from the cache."""

from __future__ import annotations

import os

from _common import PROJECT, arguments
from _deliberation import LATENCY_S, measure, throwaway_instance

FIXTURES = PROJECT.parent / "shared" / "data" / "fixtures" / "anthropic"


def main() -> None:
    args = arguments(__doc__)
    if not FIXTURES.is_dir():
        print(f"claude_path: skipped (needs {FIXTURES}, the recorded API responses)")
        return
    throwaway_instance({"ANTHROPIC_API_KEY": "sk-ant-bench-not-a-secret"})
    import anthropic  # noqa: F401 - imported before timing, as a running code server has it

    from tests.anthropic_server import messages_server_process
    from workshop_dagster.resources import LLMResource

    def claude(url: str) -> LLMResource:
        os.environ["ANTHROPIC_BASE_URL"] = url
        return LLMResource(
            provider="anthropic", timeout_s=10.0, replay_database=os.environ["WORKSHOP_DB"]
        )

    # The server runs in its own process, as the real API is remote: in this one its work per
    # request would compete with the client for the GIL and be counted as the client's.
    served = messages_server_process(FIXTURES, latency_s=LATENCY_S)
    cache = "the server caches a prefix once a reply carrying it has begun, as the API does"
    measure("claude_path", served, claude, args.tiny, cache)


if __name__ == "__main__":
    main()
