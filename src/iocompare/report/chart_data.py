"""What each chart shows, as plain numbers (no plotting library here): one chart per workload with
throughput or IOPS against block size per environment (geometric mean, 95 % bootstrap CI from
three trials on, else the trials' own values), the ratio to the baseline against block size (ratio
of geometric means, bootstrap CI, the same numbers as the verdicts), and latency p50/p99/p99.9 of
the workload's main direction (medians over trials). A point whose cell is suspect in its
environment (an artifact check fired) carries the flags, so the chart can draw it differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from iocompare.analysis.stats import RatioEstimate
from iocompare.model import Cell
from iocompare.report.build import Report
from iocompare.report.cell_stats import MIN_TRIALS_FOR_CI, CellStats
from iocompare.units import format_size

MiB = 1 << 20
IOPS_BELOW_BYTES = 64 * 1024  # workloads whose blocks are all smaller are charted in IOPS


@dataclass(frozen=True)
class Point:
    x: int  # index into ChartData.blocks
    value: float
    low: float | None  # None: no interval (fewer than MIN_TRIALS_FOR_CI trials): draw `values`
    high: float | None
    n: int
    values: tuple[float, ...] = ()  # the trials' own values, same scale as `value`
    flags: tuple[str, ...] = ()  # ids of the artifact checks that fired: a suspect point

    @property
    def suspect(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class LatencyPoint:
    x: int
    p50_ns: float | None
    p99_ns: float | None
    p999_ns: float | None


@dataclass(frozen=True)
class ChartData:
    workload: str
    title: str
    blocks: tuple[int, ...]  # block sizes in bytes, ascending
    unit: str  # "MiB/s" or "IOPS"
    environments: tuple[str, ...]  # every environment of the run, for stable colours
    throughput: dict[str, tuple[Point, ...]]
    ratios: dict[str, tuple[Point, ...]]  # candidate -> ratio points (empty without a baseline)
    latency: dict[str, tuple[LatencyPoint, ...]]
    baseline: str | None
    noise: float  # the policy's noise threshold, drawn as a band around ratio 1
    direction: str  # "read" or "write": whose latency is drawn
    size_name: str = "block size"  # a network cell's size is its message size

    @property
    def block_labels(self) -> tuple[str, ...]:
        return tuple(format_size(b) for b in self.blocks)


def _workloads(report: Report) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for cell in report.cells:
        out.setdefault(cell.workload, []).append(cell)
    return out


def _throughput(stats: CellStats, unit: str, x: int, flags: tuple[str, ...]) -> Point | None:
    summary = stats.iops_geo if unit == "IOPS" else stats.bw_geo
    if summary is None:
        return None
    scale = 1.0 if unit == "IOPS" else 1 / MiB
    ci = summary.ci
    return Point(
        x,
        summary.value * scale,
        ci.low * scale if ci else None,
        ci.high * scale if ci else None,
        summary.n,
        tuple(v * scale for v in summary.values),
        flags,
    )


def _flags(report: Report, key: str, env: str) -> tuple[str, ...]:
    return tuple(r.check.value for r in report.analysis.flags(key, env))


def _ratio_point(report: Report, x: int, estimate: RatioEstimate, key: str, env: str) -> Point:
    n = min(estimate.n_a, estimate.n_b)
    ci = estimate.ci if n >= MIN_TRIALS_FOR_CI else None
    base = report.analysis.baseline
    flags = _flags(report, key, env) + (_flags(report, key, base) if base else ())
    return Point(x, estimate.ratio, ci.low if ci else None, ci.high if ci else None, n, (), tuple(dict.fromkeys(flags)))


def chart_data(report: Report, stats: Mapping[tuple[str, str], CellStats]) -> list[ChartData]:
    view = report.analysis
    curves = {pc.workload: pc for pc in view.cross_block}
    charts = []
    for workload, cells in _workloads(report).items():
        blocks = tuple(sorted({c.block_size_bytes for c in cells}))
        unit = "IOPS" if max(blocks) < IOPS_BELOW_BYTES else "MiB/s"
        pattern = cells[0].pattern
        direction = "read" if pattern.reads else "write"
        throughput: dict[str, tuple[Point, ...]] = {}
        latency: dict[str, tuple[LatencyPoint, ...]] = {}
        for env in report.environments:
            points, lats = [], []
            for cell in sorted(cells, key=lambda c: c.block_size_bytes):
                x = blocks.index(cell.block_size_bytes)
                s = stats.get((cell.key, env))
                p = _throughput(s, unit, x, _flags(report, cell.key, env)) if s else None
                if p is not None:
                    points.append(p)
                summary = report.summary(cell, env)
                side = None if summary is None else (summary.read if direction == "read" else summary.write)
                if side is not None:
                    lats.append(LatencyPoint(x, side.lat_p50_ns, side.lat_p99_ns, side.lat_p999_ns))
            if points:
                throughput[env] = tuple(points)
            if lats:
                latency[env] = tuple(lats)
        ratios: dict[str, tuple[Point, ...]] = {}
        pc = curves.get(workload)
        by_block = {c.block_size_bytes: c for c in cells}
        if pc is not None:
            for env, row in pc.ratios.items():
                ratios[view.environment(env)] = tuple(
                    _ratio_point(
                        report, blocks.index(r.block_size_bytes), r.estimate, by_block[r.block_size_bytes].key, env
                    )
                    for r in row
                    if r.block_size_bytes in blocks
                )
        if not throughput and not latency:
            continue  # no successful trial anywhere: the table below says why, an empty chart would not
        title = (
            f"{workload} ({pattern.value}{'' if pattern.network else f', QD{cells[0].iodepth}'}"
            + (f"x{cells[0].numjobs}" if cells[0].numjobs > 1 else "")
            + ")"
        )
        charts.append(
            ChartData(
                workload,
                title,
                blocks,
                unit,
                report.environments,
                throughput,
                ratios,
                latency,
                view.baseline,
                view.policy.noise,
                direction,
                "message size" if pattern.network else "block size",
            )
        )
    return charts
