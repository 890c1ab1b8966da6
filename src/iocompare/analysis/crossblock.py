"""Across block sizes: curves per workload and environment, the ratio curve against the baseline,
where it crosses 1, and a suite summary (geometric mean of cell ratios with a bootstrap CI).

Throughput ratios use total bytes/s (within a cell the same ratio as total IOPS). A crossing is
interpolated linearly in (log2 block size, ln ratio) between the two bracketing block sizes.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis import stats
from iocompare.analysis.compare import Metric, Policy, cell_seed, comparison_pairs, metric_values, run_baseline
from iocompare.analysis.stats import Interval, RatioEstimate
from iocompare.model import Cell, FioResult, Pattern, TrialStatus
from iocompare.store.records import StoredRun, by_cell_and_environment
from iocompare.units import format_size


@dataclass(frozen=True)
class CurvePoint:
    block_size_bytes: int
    n: int
    bw_bps: float  # medians over successful trials
    iops: float
    lat_p50_ns: float | None  # total latency of the cell's main direction (reads for mixed)
    lat_p99_ns: float | None


@dataclass(frozen=True)
class RatioPoint:
    block_size_bytes: int
    estimate: RatioEstimate  # throughput of the candidate over the baseline


@dataclass(frozen=True)
class Crossing:
    low_block_bytes: int  # the bracketing block sizes
    high_block_bytes: int
    block_bytes: float  # interpolated on log2 block size
    direction: str  # "up": the candidate overtakes the baseline as blocks grow; "down": the reverse
    confirmed: bool  # the CIs at both bracketing sizes exclude 1

    def describe(self) -> str:
        way = "overtakes" if self.direction == "up" else "falls behind"
        return (
            f"{way} near {format_size(self.block_bytes)} (between {format_size(self.low_block_bytes)} and "
            f"{format_size(self.high_block_bytes)}{'' if self.confirmed else '; not confirmed by the CIs'})"
        )


@dataclass(frozen=True)
class PatternCurves:
    workload: str
    pattern: Pattern
    curves: dict[str, tuple[CurvePoint, ...]]  # environment -> points by block size
    ratios: dict[str, tuple[RatioPoint, ...]]  # candidate -> ratio points by block size
    crossings: dict[str, tuple[Crossing, ...]]  # candidate -> crossings


@dataclass(frozen=True)
class SuiteSummary:
    baseline: str
    candidate: str
    n_cells: int
    ratio: float | None  # geometric mean of the cells' throughput ratios
    ci: Interval | None
    excluded: tuple[str, ...]  # cell keys left out (suspect, or fewer than two trials a side)


def find_crossings(points: Sequence[RatioPoint]) -> tuple[Crossing, ...]:
    """Where the ratio curve crosses 1, between neighbouring block sizes (sorted by size)."""
    pts = sorted(points, key=lambda p: p.block_size_bytes)
    out = []
    for lo, hi in itertools.pairwise(pts):
        # A ratio of exactly 1 counts as "not below 1", so a flat A/A curve has no crossing.
        y0, y1 = math.log(lo.estimate.ratio), math.log(hi.estimate.ratio)
        if (y0 >= 0) == (y1 >= 0):
            continue
        x0, x1 = math.log2(lo.block_size_bytes), math.log2(hi.block_size_bytes)
        x = x0 - y0 * (x1 - x0) / (y1 - y0)
        confirmed = all(p.estimate.ci is not None and not p.estimate.ci.contains(1.0) for p in (lo, hi))
        out.append(Crossing(lo.block_size_bytes, hi.block_size_bytes, 2.0**x, "up" if y1 >= 0 else "down", confirmed))
    return tuple(out)


def _curve_point(block: int, results: Sequence[FioResult], pattern: Pattern) -> CurvePoint:
    def med(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return statistics.median(present) if present else None

    sides = [r.read if pattern.reads else r.write for r in results]
    return CurvePoint(
        block,
        len(results),
        float(statistics.median(r.total_bw_bps for r in results)),
        float(statistics.median(r.total_iops for r in results)),
        med([s.lat.p50_ns if s else None for s in sides]),
        med([s.lat.p99_ns if s else None for s in sides]),
    )


def cross_block_from_results(
    results: Mapping[tuple[Cell, str], Sequence[FioResult]], baseline: str, *, policy: Policy = Policy()
) -> list[PatternCurves]:
    """Results of successful trials per (cell, environment), in trial order -> curves per workload."""
    by_workload: dict[str, dict[str, dict[int, tuple[Cell, Sequence[FioResult]]]]] = {}
    for (cell, env), rs in results.items():
        if rs:
            by_workload.setdefault(cell.workload, {}).setdefault(env, {})[cell.block_size_bytes] = (cell, rs)
    out = []
    for workload, envs in by_workload.items():
        pattern = next(iter(next(iter(envs.values())).values()))[0].pattern
        curves = {
            env: tuple(_curve_point(b, rs, pattern) for b, (_, rs) in sorted(points.items()))
            for env, points in envs.items()
        }
        ratios: dict[str, tuple[RatioPoint, ...]] = {}
        base = envs.get(baseline, {})
        for env, points in envs.items():
            if env == baseline:
                continue
            row = []
            for block, (cell, rs) in sorted(points.items()):
                if block not in base:
                    continue
                raw_a = [Metric.THROUGHPUT.of(r, pattern) for r in base[block][1]]
                raw_b = [Metric.THROUGHPUT.of(r, pattern) for r in rs]
                a, b = [v for v in raw_a if v], [v for v in raw_b if v]
                if a and b:
                    seed = cell_seed(policy, cell.key, baseline, env)
                    row.append(
                        RatioPoint(
                            block,
                            stats.ratio_of_geomeans(
                                a, b, confidence=policy.confidence, n_boot=policy.n_boot, seed=seed
                            ),
                        )
                    )
            ratios[env] = tuple(row)
        crossings = {env: find_crossings(row) for env, row in ratios.items()}
        out.append(PatternCurves(workload, pattern, curves, ratios, crossings))
    return out


def ok_results(run: StoredRun) -> dict[tuple[Cell, str], list[FioResult]]:
    out: dict[tuple[Cell, str], list[FioResult]] = {}
    for (_key, environment), group in by_cell_and_environment(run.trials).items():
        results = [st.result for st in group if st.status is TrialStatus.OK and st.result is not None]
        if results:
            out[(group[0].trial.cell, environment)] = results
    return out


def cross_block(run: StoredRun, *, baseline: str | None = None, policy: Policy = Policy()) -> list[PatternCurves]:
    return cross_block_from_results(ok_results(run), baseline or run_baseline(run), policy=policy)


def suite_summary(
    cells: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    baseline: str,
    candidate: str,
    exclude: Collection[str] = (),
    policy: Policy = Policy(),
) -> SuiteSummary:
    """Geometric mean of the cells' ratios (B over A), with a percentile bootstrap CI.

    Each bootstrap replicate resamples the trials of every cell (each group on its own) and
    averages the cells' log ratios, so the CI covers trial-to-trial noise for this fixed set of
    cells; it does not claim anything about workloads the suite did not run.
    """
    used, left_out, logs, draws = [], [], [], []
    for key in sorted(cells):
        a, b = cells[key]
        if key in exclude or len(a) < 2 or len(b) < 2:
            left_out.append(key)
            continue
        used.append(key)
        logs.append(float(np.log(b).mean() - np.log(a).mean()))
        draws.append(
            stats.bootstrap_log_ratios(a, b, n_boot=policy.n_boot, seed=cell_seed(policy, key, baseline, candidate))
        )
    if not used:
        return SuiteSummary(baseline, candidate, 0, None, None, tuple(left_out))
    mean_draws = np.mean(np.vstack(draws), axis=0)
    low, high = stats.percentile_interval(mean_draws, policy.confidence)
    return SuiteSummary(
        baseline,
        candidate,
        len(used),
        math.exp(float(np.mean(logs))),
        Interval(math.exp(low), math.exp(high)),
        tuple(left_out),
    )


def suite_summaries(
    run: StoredRun,
    *,
    baseline: str | None = None,
    suspects: Mapping[tuple[str, str], Sequence[str]] | None = None,
    policy: Policy = Policy(),
) -> list[SuiteSummary]:
    """One summary per candidate environment; suspect cells (either side) are left out."""
    values = metric_values(run.trials, Metric.THROUGHPUT)
    flags = suspects or {}
    out = []
    for base, cand in comparison_pairs(run, baseline or run_baseline(run)):
        cells = {c.key: (values.get((c.key, base), ()), values.get((c.key, cand), ())) for c in run.cells}
        exclude = {k for k in cells if flags.get((k, base)) or flags.get((k, cand))}
        out.append(suite_summary(cells, baseline=base, candidate=cand, exclude=exclude, policy=policy))
    return out
