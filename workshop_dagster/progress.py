"""Progress of long work (a range of cycles): done of total, rate and time left, reported every
few percent, so a month's backfill in the UI or a walk-forward in a terminal says where it is."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(
        self,
        total: int,
        report: Callable[[str], None],
        what: str = "cycles",
        every_pct: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.report, self.what = max(int(total), 0), report, what
        self.every = max(1, int(self.total * every_pct / 100)) if self.total else 1
        self.clock = clock
        self.started = clock()
        self.done = 0
        self._next = self.every

    def advance(self, n: int = 1) -> None:
        """Count `n` more done; report when a step of `every_pct` percent (or the end) is
        crossed."""
        self.done = min(self.total, self.done + n)
        if self.done >= self._next or self.done == self.total:
            while self._next <= self.done:
                self._next += self.every
            self.report(self.line())

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        pct = 100.0 * self.done / self.total if self.total else 100.0
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        tail = "done" if self.done == self.total else f"about {_duration(left)} left"
        return f"{self.done}/{self.total} {self.what} ({pct:.0f}%), {rate:.1f}/s, {tail}"


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "an unknown time"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
