"""One-line headlines generated from comparisons, e.g.

    1 MiB sequential write: container 1,004.0 MiB/s vs microVM 1,737.0 MiB/s (+73 %, CI +68 to +78 %)

The two numbers are geometric means over the trials, so the percentage is exactly their ratio.
A suspect result keeps its numbers and says why it is suspect; a headline never hides a flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from iocompare.analysis.compare import Comparison, Metric, Verdict, signed_pct
from iocompare.model import Cell, Pattern
from iocompare.units import format_ns, format_rate, format_size

PATTERN_WORDS = {
    Pattern.SEQ_READ: "sequential read",
    Pattern.SEQ_WRITE: "sequential write",
    Pattern.RAND_READ: "random read",
    Pattern.RAND_WRITE: "random write",
    Pattern.MIXED_RAND: "mixed random",
    Pattern.MIXED_SEQ: "mixed sequential",
    Pattern.FSYNC_PROBE: "fdatasync write probe",
    Pattern.TCP_STREAM: "TCP stream",
    Pattern.UDP_STREAM: "UDP stream",
    Pattern.TCP_RR: "TCP ping-pong",
}


def cell_title(cell: Cell) -> str:
    """'1 MiB sequential write', '4 KiB mixed random 70/30', '4 KiB random read QD1'."""
    words = f"{format_size(cell.block_size_bytes)} {PATTERN_WORDS[cell.pattern]}"
    if cell.pattern.network:  # messages: no queue depth; the direction and streams say what ran
        _load, _, direction = cell.ioengine.partition("/")
        return words + (f" {direction}" if direction else "") + (f" x{cell.numjobs}" if cell.numjobs > 1 else "")
    if cell.pattern.mixed and cell.read_percent is not None:
        words += f" {cell.read_percent}/{100 - cell.read_percent}"
    if cell.iodepth == 1 and cell.pattern is not Pattern.FSYNC_PROBE:
        words += " QD1"
    return words


def _value(metric: Metric, value: float | None) -> str:
    if value is None:
        return "-"
    return format_rate(value) if metric is Metric.THROUGHPUT else f"p99 {format_ns(value)}"


def headline(comparison: Comparison, cell: Cell) -> str:
    c = comparison
    a = c.a.geomean if c.a else None
    b = c.b.geomean if c.b else None
    line = f"{cell_title(cell)}: {c.baseline} {_value(c.metric, a)} vs {c.candidate} {_value(c.metric, b)}"
    e = c.estimate
    if e is not None:
        ci = f"CI {signed_pct(e.ci.low)} to {signed_pct(e.ci.high)} %" if e.ci is not None else "no CI"
        numbers = f"{signed_pct(e.ratio)} %, {ci}"
        if c.verdict in (Verdict.FASTER, Verdict.SLOWER, Verdict.SUSPECT):
            line += f" ({numbers})"
        elif c.verdict is Verdict.NO_DIFFERENCE:
            line += f" ({numbers}; no significant difference)"
        else:
            line += f" ({numbers}; {c.verdict.value}: {'; '.join(c.reasons)})"
    elif c.verdict is not Verdict.SUSPECT:
        line += f" ({c.verdict.value}: {'; '.join(c.reasons)})"
    if c.verdict is Verdict.SUSPECT:
        line += " — suspect: " + "; ".join(c.reasons)
    if c.warnings:
        line += " [" + "; ".join(w.message for w in c.warnings) + "]"
    return line


def headlines(comparisons: Sequence[Comparison], cells: Mapping[str, Cell], *, limit: int | None = 5) -> list[str]:
    """The lines worth reading first: every suspect result, then verdicts by size of effect."""

    def size(c: Comparison) -> float:
        return abs(math.log(c.estimate.ratio)) if c.estimate else 0.0

    suspect = [c for c in comparisons if c.verdict is Verdict.SUSPECT]
    decided = sorted((c for c in comparisons if c.verdict in (Verdict.FASTER, Verdict.SLOWER)), key=size, reverse=True)
    chosen = suspect + (decided if limit is None else decided[: max(limit - len(suspect), 0)])
    return [headline(c, cells[c.key]) for c in chosen if c.key in cells]
