"""The books of a model engine (minds/model_engine.py): the replay cache's writer, the run's
budget and the ledger.

A mixin of `ModelEngine` (it holds the engine's lock, config and prices): what a request costs
before it goes (`_reserve`, a ceiling from its size) and after (`_record`, from its usage), the
ledger rows the step writes to `llm_calls` and `llm_spend`, and the replies kept for replay.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from .llm_errors import BudgetExceeded
from .prompting import prompt_hash
from .spend import cost_usd


class CallBooks:
    _lock: threading.Lock

    def _open_books(self, replay, spend, preload: bool) -> None:
        # .get_many([(source, model, hash)]) -> {key: reply}; .put_many([(source, model, hash,
        # reply)]); optionally .preload() (read what the first lookup needs, ahead of it)
        self.replay = replay
        # .append([ledger rows]): every request sent to the API, kept whatever the run becomes
        self.spend = spend
        self._unsaved_spend: list[dict] = []
        self.spent_usd = 0.0
        self.ledger: list[dict] = []
        # Replies received wait in `_unsaved` until the next request is about to go out (after
        # its replay lookup), then one writer thread stores them while that request waits on
        # the network: the lookups never queue behind the writes, and the writes cost no wall
        # time. `flush` (the step's end, or its failure) stores what is left and waits.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-writer")
        self._unsaved: list[tuple[str, str, str, dict]] = []
        self._stores: list[Future] = []
        if preload and hasattr(replay, "preload"):
            # The cache's keys are read while the step loads its inputs and builds the first
            # context, not when the first request is about to go out.
            self._stores.append(self._writer.submit(replay.preload))

    # -- replay cache ------------------------------------------------------------------------
    def _store(self, source: str, model: str, key: str, reply: dict) -> None:
        with self._lock:
            self._unsaved.append((source, model, key, reply))

    def _write_unsaved(self) -> None:
        with self._lock:
            unsaved, self._unsaved = self._unsaved, []
            spent, self._unsaved_spend = self._unsaved_spend, []
            if unsaved:
                self._stores.append(self._writer.submit(self.replay.put_many, unsaved))
            if spent and self.spend is not None:
                self._stores.append(self._writer.submit(self.spend.append, spent))

    def flush(self) -> None:
        """Store every reply received in the replay cache and wait (a failed write raises)."""
        self._write_unsaved()
        with self._lock:
            stores, self._stores = self._stores, []
        for future in stores:
            future.result()

    def close(self) -> None:
        """Flush the replay writes and stop the writer (the step is over)."""
        try:
            self.flush()
        finally:
            self._writer.shutdown(wait=True)

    def _replayed(self, calls: list[tuple[str, dict]]) -> list[dict | None]:
        """The cached reply (or None) of each (source, request), in one lookup."""
        if self.config.refresh:
            return [None] * len(calls)
        keys = [(source, request["model"], prompt_hash(request)) for source, request in calls]
        found = self.replay.get_many(keys)
        return [found.get(k) for k in keys]

    # -- budget and ledger -------------------------------------------------------------------
    def _estimated_usage(self, request: dict) -> dict:
        """A ceiling of a request's tokens from its size: a token per 3 characters of prompt,
        every output token it may write."""
        chars = sum(len(b["text"]) for b in request["system"]) + len(
            json.dumps(request["messages"])
        )
        return {
            "input_tokens": chars // 3,
            "output_tokens": request["max_tokens"],
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
        }

    def _estimate(self, request: dict) -> float:
        return cost_usd(self.prices, request["model"], self._estimated_usage(request))

    def _reserve(self, request: dict) -> float:
        estimate = self._estimate(request)
        with self._lock:
            if self.spent_usd + estimate > self.config.budget_usd:
                raise BudgetExceeded(
                    f"the next call ({request['model']}, up to ${estimate:.4f}) would take this "
                    f"run past its budget of ${self.config.budget_usd:.2f} "
                    f"(${self.spent_usd:.4f} spent); raise WORKSHOP_LLM_BUDGET_USD to go on"
                )
            self.spent_usd += estimate
        return estimate

    def _release(self, estimate: float) -> None:
        with self._lock:
            self.spent_usd -= estimate

    def _record(
        self, cycle_key, source, model, key, usage, latency, retries, outcome, cost
    ) -> None:
        usage = usage or {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_write_tokens": 0,
            "cache_read_tokens": 0,
        }
        row = {
            "cycle_key": cycle_key,
            "source": source,
            "model": model,
            "prompt_hash": key,
            **usage,
            "cost_usd": cost if outcome.startswith("ok") else 0.0,
            "latency_s": round(latency, 3),
            "retries": retries,
            "outcome": outcome,
        }
        with self._lock:
            self.ledger.append(row)
            if outcome != "replayed":
                self._unsaved_spend.append(row)

    def _attach_usage(self, target, source: str, cycle_key: str) -> None:
        rows = [r for r in self.ledger if r["source"] == source and r["cycle_key"] == cycle_key]
        target.input_tokens = sum(
            r["input_tokens"] + r["cache_read_tokens"] + r["cache_write_tokens"] for r in rows
        )
        target.output_tokens = sum(r["output_tokens"] for r in rows)
        target.cost_usd = round(sum(r["cost_usd"] for r in rows), 6)
