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

from _common import arguments
from _deliberation import LATENCY_S, measure, throwaway_instance


def main() -> None:
    args = arguments(__doc__)
    throwaway_instance({"OPENAI_API_KEY": "sk-bench-not-a-secret"})
    import openai  # noqa: F401 - imported before timing, as a running code server has it

    from tests.openai_server import chat_server_process
    from workshop_dagster.resources import LLMResource

    def chat(url: str) -> LLMResource:
        return LLMResource(
            provider="openai",
            base_url=url,
            mind_model="qwen2.5:14b",
            synthesis_model="qwen2.5:14b",
            timeout_s=10.0,
            replay_database=os.environ["WORKSHOP_DB"],
        )

    served = chat_server_process("vllm", latency_s=LATENCY_S)
    cache = "the server caches a prefix once a reply carrying it has begun, as vLLM does"
    measure("openai_path", served, chat, args.tiny, cache)


if __name__ == "__main__":
    main()
