"""A background sampler of host CPU, the CPU of given processes, disk counters and free space.

Samples are taken every `interval_s` while a trial runs and stored as a time series with it,
so a report can show host CPU per IO and byte accounting can compare the device's counters
with fio's own byte count.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

from iocompare.model import Sample


class Monitor:
    def __init__(
        self,
        *,
        path: Path,
        device: str | None,
        pids: Callable[[], Sequence[int]] = lambda: (),
        interval_s: float = 0.5,
        on_sample: Callable[[Sample], None] | None = None,
    ) -> None:
        self._path = path
        self._device = device
        self._pids = pids
        self._interval_s = interval_s
        self._on_sample = on_sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="iocompare-monitor", daemon=True)
        self.samples: list[Sample] = []
        self._proc_cpu_s: dict[int, float] = {}

    def __enter__(self) -> Monitor:
        self._t0 = time.monotonic()
        self._disk0 = self._disk()
        psutil.cpu_percent(interval=None)  # primes the counter; the first real call is a delta
        self._last = self._t0
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._take()  # a final sample, so the totals cover the whole trial

    def _loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._take()

    def _disk(self) -> tuple[int, int]:
        if not self._device:
            return 0, 0
        try:
            counters = psutil.disk_io_counters(perdisk=True).get(self._device)
        except (OSError, RuntimeError):
            counters = None
        return (counters.read_bytes, counters.write_bytes) if counters else (0, 0)

    def _process_cpu_pct(self, now: float) -> float | None:
        """CPU of the monitored processes and their children since the last sample; 100 = one core."""
        pids = list(self._pids())
        if not pids:
            return None
        used = 0.0
        seen: dict[int, float] = {}
        for pid in pids:
            try:
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    times = proc.cpu_times()
                    total = times.user + times.system
                    seen[proc.pid] = total
                    # A process first seen now started during this interval: all of its time counts.
                    used += total - self._proc_cpu_s.get(proc.pid, 0.0)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self._proc_cpu_s = seen
        elapsed = max(now - self._last, 1e-6)
        return 100.0 * used / elapsed

    def _take(self) -> None:
        now = time.monotonic()
        read_bytes, write_bytes = self._disk()
        try:
            free = psutil.disk_usage(os.fspath(self._path)).free
        except OSError:
            free = -1
        sample = Sample(
            t_s=round(now - self._t0, 3),
            host_cpu_pct=psutil.cpu_percent(interval=None),
            proc_cpu_pct=self._process_cpu_pct(now),
            disk_read_bytes=read_bytes - self._disk0[0],
            disk_write_bytes=write_bytes - self._disk0[1],
            free_bytes=free,
        )
        self._last = now
        self.samples.append(sample)
        if self._on_sample is not None:
            self._on_sample(sample)
