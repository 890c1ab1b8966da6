"""Equal idle before every trial: fio starts the same settle time after the previous IO ended.

Why: block devices with burst credit (cloud volumes, this machine's disk, Firecracker's own rate
limiter) refill while idle. Measured here, the same 1 MiB random read gave a median 1.76 GiB/s
right after the previous run and 2.72 GiB/s after a 3 s pause (issue 11). A host trial starts fio
at once, a container after ~0.4 s of start-up, a microVM after its boot: without a settle time
the start-up pause is measured as the environment. With one, the start-up (container start, VM
boot, cache drop) happens inside the settle time and never adds to it, unless it is longer than
the settle time itself; then the run's settle time grows to the longest start-up seen, so the
trials after it idle alike, and every trial's gap is recorded (`idle_gap_s`) for the
`burst-credit` check (analysis/burst.py) to judge.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The suite's default settle time (spec/models.py DEFAULT_SETTLE_S, 3 s) is from data: after 3 s
# idle this machine's disk read at its rested rate, and a container starts well inside it. A
# microVM's boot under TCG (5-20 s) is longer, and the settle time then grows to it (IdleClock.wait).
LAYOUT_IS_IO_S = 0.5  # a working-set step that took longer than this wrote the file: IO


class IdleClock:
    """The time since the last IO of the run, and the wait that makes every trial's idle equal."""

    def __init__(
        self,
        settle_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settle_s = settle_s
        self.longest_startup_s = 0.0
        self._clock = clock
        self._sleep = sleep
        self._io_ended = clock()  # the run's set-up (layouts, probes) counts as IO
        self._startup_began: float | None = None

    def io_ended(self) -> None:
        """fio (or a layout) has just finished writing or reading the storage."""
        self._io_ended = self._clock()

    def startup_begins(self) -> None:
        """The environment starts its instance (container, VM boot, cache drop) now."""
        self._startup_began = self._clock()

    def after_layout(self, took_s: float) -> None:
        """A working-set step ran; one that took long laid the file out (IO, so the idle restarts)."""
        if took_s > LAYOUT_IS_IO_S:
            self.io_ended()

    def wait(self) -> dict[str, str]:
        """Sleep until the settle time has passed since the last IO; the facts of this trial's idle.

        The settle time in force is the suite's, or the longest start-up this run has seen when
        that is longer (so start-up never adds idle to one environment's trials only)."""
        now = self._clock()
        startup = now - self._startup_began if self._startup_began is not None else 0.0
        self.longest_startup_s = max(self.longest_startup_s, startup)
        settle = max(self.settle_s, self.longest_startup_s) if self.settle_s > 0 else 0.0
        remaining = self._io_ended + settle - now
        if remaining > 0:
            self._sleep(remaining)
        gap = self._clock() - self._io_ended
        self._startup_began = None
        return {
            "idle_gap_s": f"{gap:.3f}",
            "settle_s": f"{settle:.3f}",
            "startup_s": f"{startup:.3f}",
        }
