"""Progress of long work (a range of cycles): done of total, rate and time left, reported every
few percent, so a month's backfill in the UI or a walk-forward in a terminal says where it is."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache


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


@lru_cache(maxsize=1)
def _terminal():
    """The process's controlling terminal, opened once; None without one (daemons, CI)."""
    try:
        return open("/dev/tty", "w")  # noqa: SIM115 - kept open for the process
    except OSError:
        return None


def to_terminal(line: str, stream=None) -> None:
    """The line as a bar redrawn in place on an interactive terminal (`make demo`, `make
    evaluate` run their jobs quietly); nothing when the output is not a terminal (a daemon's
    run, CI), where the run's log has the same line."""
    # The controlling terminal itself: a step's stdout and stderr (down to the file
    # descriptors) are captured into Dagster's compute logs.
    stream = stream or _terminal()
    if stream is None or not stream.isatty():
        return
    done, _, rest = line.partition(" ")
    n, total = (int(x) for x in done.split("/"))
    filled = int(30 * n / total) if total else 30
    stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {line}\033[K")
    if n >= total:
        stream.write("\n")
    stream.flush()
