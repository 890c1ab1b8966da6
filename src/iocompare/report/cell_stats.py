"""Per cell and environment numbers the charts, the HTML report and the exports share: the
geometric mean of throughput and IOPS with a bootstrap CI (the figure every format shows; the
arithmetic mean and its CI remain for the exports), and CPU cost per IO from the monitor.

CI of the geometric mean: the log values' mean resampled (95 % percentile bootstrap, the run's
policy seed), exponentiated; only from three trials on: with two, the "interval" would be little
more than the two values, so charts draw the values themselves instead.

CI of the mean: `analysis.stats.summarise` (95 % percentile bootstrap, the run's policy seed);
with fewer than two successful trials there is no interval, and charts draw the single value
without whiskers (they never pretend a min/max range of one value is an interval).

CPU per IO (CPU-seconds per IO, shown as CPU-µs): for each successful trial with monitor samples,

    cpu_s_per_io = mean CPU fraction over the trial's samples x fio runtime (s) / total IOs

where the CPU fraction is, for `host`, the host's CPU use (0..100 % of all CPUs) times the number
of CPUs, and for `env`, the monitored processes of the environment (fio on the host; the
container's processes; the VMM with its vCPU threads), 100 % = one core; the runtime is fio's
(the longer of its read and write runtimes) and the IOs are read plus write IOs. The median over
trials is reported. The samples cover the whole monitored trial (ramp and end_fsync included),
so the figure is an upper-side estimate for jobs with a ramp; it is a cost comparison between
environments of one run, not an absolute measure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis.compare import Policy, cell_seed
from iocompare.analysis.stats import (
    Interval,
    SampleSummary,
    bootstrap_means,
    percentile_interval,
    rng_for,
    summarise,
)
from iocompare.facts import registry as fk
from iocompare.model import FioResult, Sample, TrialStatus
from iocompare.store.records import StoredRun, by_cell_and_environment

DEFAULT_POLICY = Policy()


MIN_TRIALS_FOR_CI = 3  # below this a "95 % CI" is the values' own range: the values are shown instead


@dataclass(frozen=True)
class GeoSummary:
    """The cell's one figure (docs/statistics.md): the geometric mean over trials, with a 95 %
    percentile-bootstrap CI on the log scale from MIN_TRIALS_FOR_CI trials on, and the values."""

    value: float
    ci: Interval | None
    n: int
    values: tuple[float, ...]  # in trial order


@dataclass(frozen=True)
class CellStats:
    key: str
    environment: str
    bw_bps: SampleSummary | None  # total bytes/s over successful trials
    iops: SampleSummary | None  # total IOPS
    host_cpu_s_per_io: float | None  # median over trials; None when not monitored
    env_cpu_s_per_io: float | None
    bw_geo: GeoSummary | None = None
    iops_geo: GeoSummary | None = None


def geo_summary(values: Sequence[float], policy: Policy, seed: list[int]) -> GeoSummary | None:
    positive = [v for v in values if v > 0]
    if not positive:
        return None
    logs = np.log(np.asarray(positive, dtype=float))
    ci = None
    if len(positive) >= MIN_TRIALS_FOR_CI:
        draws = bootstrap_means(logs, policy.n_boot, rng_for(seed))
        low, high = percentile_interval(draws, policy.confidence)
        ci = Interval(math.exp(low), math.exp(high))
    return GeoSummary(math.exp(float(logs.mean())), ci, len(positive), tuple(positive))


def _runtime_s(result: FioResult) -> float:
    sides = [d for d in (result.read, result.write) if d is not None]
    return max((d.runtime_ms for d in sides), default=0) / 1000


def _total_ios(result: FioResult) -> int:
    return sum(d.total_ios for d in (result.read, result.write) if d is not None)


def cpu_per_io(
    result: FioResult, samples: Sequence[Sample], cpu_count: int | None
) -> tuple[float | None, float | None]:
    """(host, env) CPU-seconds per IO of one trial; None where it cannot be computed."""
    ios, runtime = _total_ios(result), _runtime_s(result)
    if not samples or ios <= 0 or runtime <= 0:
        return None, None
    host = None
    if cpu_count:
        host = statistics.fmean(s.host_cpu_pct for s in samples) / 100 * cpu_count * runtime / ios
    proc = [s.proc_cpu_pct for s in samples if s.proc_cpu_pct is not None]
    env = statistics.fmean(proc) / 100 * runtime / ios if proc else None
    return host, env


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _summary(values: list[float], policy: Policy, seed: list[int]) -> SampleSummary | None:
    values = [v for v in values if v > 0]
    if not values:
        return None
    return summarise(values, confidence=policy.confidence, n_boot=policy.n_boot, seed=seed)


def host_cpu_count(run: StoredRun) -> int | None:
    cpus = fk.CPU_COUNT.get(run.host_facts)
    return cpus if cpus else None


def cell_stats(
    run: StoredRun, samples: Mapping[int, Sequence[Sample]] | None, policy: Policy = DEFAULT_POLICY
) -> dict[tuple[str, str], CellStats]:
    """(cell key, environment) -> CellStats, for every pair with at least one trial."""
    groups = by_cell_and_environment(run.trials)
    cpus = host_cpu_count(run)
    out = {}
    for (key, env), trials in groups.items():
        ok = [t for t in trials if t.status is TrialStatus.OK and t.result is not None]
        results = [t.result for t in ok if t.result is not None]
        costs = [cpu_per_io(t.result, (samples or {}).get(t.id, ()), cpus) for t in ok if t.result is not None]
        seed = cell_seed(policy, key, env, "cell-stats")
        out[(key, env)] = CellStats(
            key,
            env,
            _summary([r.total_bw_bps for r in results], policy, seed),
            _summary([r.total_iops for r in results], policy, seed),
            _median([c[0] for c in costs]),
            _median([c[1] for c in costs]),
            geo_summary([r.total_bw_bps for r in results], policy, seed),
            geo_summary([r.total_iops for r in results], policy, seed),
        )
    return out
