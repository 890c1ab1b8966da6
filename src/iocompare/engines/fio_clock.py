"""The clock resolution a fio run's latencies were measured with, read from its json+ histogram.

fio times every IO with the kernel's clock. On a guest whose clocksource is jiffies (QEMU TCG
without a usable TSC: a tick of 4 ms at HZ=250) most IOs complete within one tick and are counted
as 0 ns, the rest as one or more whole ticks: the histogram's non-empty buckets sit at 0 and on a
grid of multiples of the tick, and the mean (0.14 ms, say) is finer than the grid. A real clock
never gives a 0 ns IO. So a histogram whose IOs include 0 ns ones, or whose positive buckets lie
on a grid of at least 1 ms while the mean is below the grid step, was measured with a clock too
coarse for its latencies: the grid step is the clock's resolution.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from iocompare.engines.fio_parse import ALL_CLIENTS_JOBNAME, decode_document
from iocompare.errors import FioOutputError

COARSE_GRID_NS = 1_000_000  # a grid of 1 ms or more is coarser than any device latency it would show
GRID_TOLERANCE = 0.03  # fio's buckets are at most ~1.6 % wide: a multiple of the step within 3 %
ZERO_NS = 1  # a bucket below 1 ns: the clock did not advance during the IO
_SECTIONS = ("read", "write", "trim", "sync")
_LATENCIES = ("clat_ns", "lat_ns")


@dataclass(frozen=True)
class LatencyGrid:
    """What a run's latency histogram says of the clock that measured it."""

    ios: int  # IOs in the histogram(s) looked at
    zero_share: float  # share of IOs timed at 0 ns
    step_ns: float | None  # the finest positive bucket (the grid step when quantised)
    mean_ns: float  # mean latency over the buckets
    on_grid: bool  # every positive bucket is a whole multiple of the step (within fio's bucket width)

    @property
    def quantised(self) -> bool:
        """The clock is coarser than the latencies it measured."""
        if self.zero_share > 0:
            return True
        return (
            self.step_ns is not None and self.step_ns >= COARSE_GRID_NS and self.on_grid and self.mean_ns < self.step_ns
        )

    def facts(self) -> dict[str, str]:
        facts = {
            "latency_quantised": "yes" if self.quantised else "no",
            "latency_zero_ns_share": f"{self.zero_share:.4f}",
        }
        if self.quantised and self.step_ns is not None:
            facts["latency_resolution_ns"] = f"{self.step_ns:.0f}"
        return facts


def _histograms(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    entries = document.get("client_stats") or document.get("jobs") or []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("jobname") == ALL_CLIENTS_JOBNAME:
            continue
        for side in _SECTIONS:
            section = entry.get(side)
            if not isinstance(section, Mapping):
                continue
            for kind in _LATENCIES:
                block = section.get(kind)
                if isinstance(block, Mapping) and isinstance(block.get("bins"), Mapping):
                    yield block["bins"]
                    break  # clat and total latency count the same IOs: one of them is enough


def latency_grid(text: str) -> LatencyGrid | None:
    """The grid of a json+ output's latency buckets; None without histogram bins (json output)."""
    try:
        document = decode_document(text)
    except FioOutputError:
        return None
    counts: Counter[float] = Counter()
    for bins in _histograms(document):
        for key, count in bins.items():
            try:
                value, n = float(key), int(count)
            except (TypeError, ValueError):
                return None
            if n > 0 and value >= 0:
                counts[value] += n
    ios = sum(counts.values())
    if ios == 0:
        return None
    zero = sum(n for value, n in counts.items() if value < ZERO_NS)
    positive = sorted(value for value in counts if value >= ZERO_NS)
    step = positive[0] if positive else None
    on_grid = step is not None and all(abs(v / step - round(v / step)) <= GRID_TOLERANCE * v / step for v in positive)
    mean = sum(value * n for value, n in counts.items()) / ios
    return LatencyGrid(ios, zero / ios, step, mean, on_grid)


def latency_grid_facts(text: str) -> dict[str, str]:
    """The facts a trial records about its latency clock (none without histogram bins)."""
    grid = latency_grid(text)
    return grid.facts() if grid is not None else {}
