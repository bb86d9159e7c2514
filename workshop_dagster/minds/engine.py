"""The minds engine interface: offline analysts today, Claude behind the same methods."""

from __future__ import annotations

from typing import Protocol

from ..registry.minds import Mind, minds
from . import offline
from .cycle_context import CycleContext
from .synthesis import synthesize
from .types import Memo, Opinion


class MindsEngine(Protocol):
    """What the loop and the deliberation step call."""

    name: str
    # Who writes: the engine, its models and its prompts, as a sealed cycle records it (a
    # sealed cycle asked again by another writer is refused: minds/published.py).
    writer: str
    # True: a backfill asks a wave of cycles at once (`opinions_batch`, `synthesize_batch`).
    batches: bool
    # One row per model call (minds/spend.LEDGER_FIELDS); empty for engines that call no model.
    ledger: list[dict]

    def opinions(self, context: CycleContext) -> list[Opinion]: ...

    def synthesize(self, context: CycleContext, opinions: list[Opinion], debate: str) -> Memo: ...

    def opinions_batch(self, contexts: list[CycleContext]) -> list[list[Opinion]]: ...

    def synthesize_batch(
        self, items: list[tuple[CycleContext, list[Opinion], str]]
    ) -> list[Memo]: ...

    def close(self) -> None:
        """The step is over (failed or not): store what must outlive it."""


class OfflineEngine:
    """Deterministic minds written in Python: no network, no key, same output every run."""

    name = "offline"
    writer = "offline minds"
    batches = False

    def __init__(self) -> None:
        self.ledger: list[dict] = []

    def opinions(self, context: CycleContext) -> list[Opinion]:
        """Every registered mind's offline opinion, in the registry's order, each answering the
        others where they disagree (`rebuttals`)."""
        from .rebuttals import answered

        return answered([_offline_mind(mind)(context) for mind in minds()], context)

    def synthesize(self, context: CycleContext, opinions: list[Opinion], debate: str) -> Memo:
        return synthesize(context, opinions, debate)

    def opinions_batch(self, contexts: list[CycleContext]) -> list[list[Opinion]]:
        return [self.opinions(c) for c in contexts]

    def synthesize_batch(self, items: list[tuple[CycleContext, list[Opinion], str]]) -> list[Memo]:
        return [self.synthesize(*item) for item in items]

    def close(self) -> None:
        pass


def _offline_mind(mind: Mind):
    """The mind's offline function: its own, or the one it names in minds/offline.py."""
    return mind.offline if callable(mind.offline) else getattr(offline, mind.offline)
