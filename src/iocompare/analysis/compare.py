"""Environment B against baseline A, per cell: ratio, CI, p-value, FDR, verdict, warnings.

The rules are METHODOLOGY.md's, spelled out in docs/statistics.md. "X % faster" needs all of:
the CI of the ratio excludes 1, the Benjamini-Hochberg adjusted p-value is at most q, the
effect is at least the noise threshold, and no artifact check fired in either environment.
The threshold band is symmetric on the log scale ([1/1.05, 1.05] for 5 %), so swapping A and B
turns "faster" into "slower" with the reciprocal ratio and never changes the verdict's kind.
"""

from __future__ import annotations

import enum
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from iocompare.analysis import stats
from iocompare.analysis.baseline import default_baseline
from iocompare.analysis.stats import RatioEstimate, SampleSummary
from iocompare.model import FioResult, Pattern, TrialStatus
from iocompare.spec.targets import baseline_for
from iocompare.store.records import StoredRun, StoredTrial, by_cell_and_environment


class Metric(str, enum.Enum):
    """What a cell is compared on. Within a cell the block size is fixed, so total bandwidth and
    total IOPS are proportional and give the same ratio: throughput is compared as bytes/s."""

    THROUGHPUT = "throughput"  # FioResult.total_bw_bps, higher is better
    LATENCY_P99 = "latency-p99"  # total latency p99 of the cell's main direction, lower is better

    @property
    def higher_is_better(self) -> bool:
        return self is Metric.THROUGHPUT

    def of(self, result: FioResult, pattern: Pattern) -> float | None:
        if self is Metric.THROUGHPUT:
            return result.total_bw_bps or None
        # Mixed patterns are judged on their reads: the latency a reader waits for.
        side = result.read if pattern.reads else result.write
        return side.lat.p99_ns if side is not None else None


class Verdict(str, enum.Enum):
    FASTER = "faster"
    SLOWER = "slower"
    NO_DIFFERENCE = "no significant difference"
    INCONCLUSIVE = "inconclusive"
    SUSPECT = "suspect"
    NOT_COMPARED = "not compared"  # no successful trial on one side


@dataclass(frozen=True)
class Policy:
    noise: float = 0.05  # effects below 5 % are noise; band = [1/(1+noise), 1+noise]
    fdr_q: float = 0.05
    min_trials: int = 5
    cv_limit: float = 0.10
    confidence: float = stats.CONFIDENCE
    n_boot: int = stats.N_BOOT
    n_permutations: int = stats.N_PERMUTATIONS
    seed: int = stats.DEFAULT_SEED

    @property
    def log_band(self) -> float:
        return math.log1p(self.noise)


@dataclass(frozen=True)
class StabilityWarning:
    code: str  # "high-cv" | "too-few-trials" | "first-trial-outlier"
    environment: str
    message: str


@dataclass(frozen=True)
class CellInput:
    """One comparison to make: values in trial order, and the labels of fired artifact checks."""

    key: str
    baseline: str
    candidate: str
    a_values: tuple[float, ...]
    b_values: tuple[float, ...]
    suspect_a: tuple[str, ...] = ()
    suspect_b: tuple[str, ...] = ()


@dataclass(frozen=True)
class Comparison:
    key: str
    metric: Metric
    baseline: str
    candidate: str
    a: SampleSummary | None
    b: SampleSummary | None
    estimate: RatioEstimate | None  # metric of B over metric of A
    p_value: float | None
    p_adjusted: float | None
    verdict: Verdict
    reasons: tuple[str, ...]  # why suspect or inconclusive
    warnings: tuple[StabilityWarning, ...] = field(default=())

    @property
    def speedup(self) -> RatioEstimate | None:
        """Oriented so that > 1 means B is better (for latency: A's latency over B's)."""
        if self.estimate is None:
            return None
        return self.estimate if self.metric.higher_is_better else self.estimate.reciprocal()

    def describe(self) -> str:
        """One line: '73 % faster (CI 68 to 78 %)', 'no significant difference (CI -2 to +3 %)'."""
        s = self.speedup
        if self.verdict is Verdict.SUSPECT:
            return "suspect: " + "; ".join(self.reasons)
        if s is None:
            return f"{self.verdict.value}: " + "; ".join(self.reasons)
        better, worse = (
            ("faster", "slower") if self.metric.higher_is_better else ("lower p99 latency", "higher p99 latency")
        )
        if self.verdict in (Verdict.FASTER, Verdict.SLOWER) and s.ci is not None:
            if self.verdict is Verdict.FASTER:
                return (
                    f"{(s.ratio - 1) * 100:.0f} % {better} "
                    f"(CI {(s.ci.low - 1) * 100:.0f} to {(s.ci.high - 1) * 100:.0f} %)"
                )
            return (
                f"{(1 - s.ratio) * 100:.0f} % {worse} (CI {(1 - s.ci.high) * 100:.0f} to {(1 - s.ci.low) * 100:.0f} %)"
            )
        ci = f"CI {signed_pct(s.ci.low)} to {signed_pct(s.ci.high)} %" if s.ci else "no CI"
        if self.verdict is Verdict.NO_DIFFERENCE:
            return f"no significant difference ({ci})"
        return f"{self.verdict.value}: " + "; ".join(self.reasons) + f" ({signed_pct(s.ratio)} %, {ci})"


def signed_pct(ratio: float) -> str:
    """Ratio 1.73 -> '+73', 0.58 -> '-42' (change in percent, sign always shown)."""
    return f"{(ratio - 1) * 100:+.0f}"


def cell_seed(policy: Policy, key: str, baseline: str, candidate: str) -> list[int]:
    # Independent of which side is the baseline, so swapping A and B replays the same draws.
    names = "|".join(sorted((baseline, candidate)))
    return [policy.seed, zlib.crc32(f"{key}|{names}".encode())]


def stability_warnings(
    values: Sequence[float], environment: str, policy: Policy = Policy()
) -> tuple[StabilityWarning, ...]:
    warnings: list[StabilityWarning] = []
    if not values:
        return ()
    if len(values) < policy.min_trials:
        warnings.append(
            StabilityWarning(
                "too-few-trials", environment, f"{environment}: {len(values)} trials, fewer than {policy.min_trials}"
            )
        )
    spread = stats.cv(values)
    if spread is not None and spread > policy.cv_limit:
        warnings.append(
            StabilityWarning("high-cv", environment, f"{environment}: CV {spread:.0%} above {policy.cv_limit:.0%}")
        )
    if stats.first_trial_outlier(values):
        rest = sorted(values[1:])
        centre = rest[len(rest) // 2] if len(rest) % 2 else (rest[len(rest) // 2 - 1] + rest[len(rest) // 2]) / 2
        warnings.append(
            StabilityWarning(
                "first-trial-outlier",
                environment,
                f"{environment}: first trial {signed_pct(values[0] / centre)} % "
                f"off the median of the other {len(rest)}",
            )
        )
    return tuple(warnings)


def _decide(
    s: RatioEstimate | None, p_adj: float | None, item: CellInput, policy: Policy
) -> tuple[Verdict, tuple[str, ...]]:
    suspects = tuple(dict.fromkeys([*item.suspect_b, *item.suspect_a]))
    if suspects:
        return Verdict.SUSPECT, suspects
    if s is None:
        return Verdict.NOT_COMPARED, (
            "no successful trial in "
            + " and ".join(n for n, v in ((item.baseline, item.a_values), (item.candidate, item.b_values)) if not v),
        )
    n = min(s.n_a, s.n_b)
    if n < policy.min_trials or s.ci is None:
        return Verdict.INCONCLUSIVE, (f"too few trials (n = {s.n_a} and {s.n_b}; {policy.min_trials} needed)",)
    band = policy.log_band
    lo, hi, point = math.log(s.ci.low), math.log(s.ci.high), math.log(s.ratio)
    excludes_one = lo > 0 or hi < 0
    significant = p_adj is not None and p_adj <= policy.fdr_q
    if excludes_one and significant and abs(point) >= band:
        return (Verdict.FASTER if point > 0 else Verdict.SLOWER), ()
    if -band < lo and hi < band:
        return Verdict.NO_DIFFERENCE, ()
    reasons = []
    if not (lo >= band or hi <= -band):
        reasons.append(f"CI straddles the ±{policy.noise:.0%} band")
    if not significant:
        reasons.append(f"not significant after FDR control (adjusted p = {p_adj:.3g})")
    if abs(point) < band and not reasons:
        reasons.append(f"effect below the {policy.noise:.0%} noise threshold")
    return Verdict.INCONCLUSIVE, tuple(reasons)


def compare_cells(
    inputs: Sequence[CellInput], *, metric: Metric = Metric.THROUGHPUT, policy: Policy = Policy()
) -> list[Comparison]:
    """Compare every input; Benjamini-Hochberg runs across all of them (one family)."""
    partial = []
    for item in inputs:
        seed = cell_seed(policy, item.key, item.baseline, item.candidate)
        a = (
            stats.summarise(item.a_values, confidence=policy.confidence, n_boot=policy.n_boot, seed=[*seed, 1])
            if item.a_values
            else None
        )
        b = (
            stats.summarise(item.b_values, confidence=policy.confidence, n_boot=policy.n_boot, seed=[*seed, 1])
            if item.b_values
            else None
        )
        estimate = p = None
        if a is not None and b is not None:
            estimate = stats.ratio_of_geomeans(
                item.a_values, item.b_values, confidence=policy.confidence, n_boot=policy.n_boot, seed=seed
            )
            p = stats.permutation_pvalue(item.a_values, item.b_values, n_permutations=policy.n_permutations, seed=seed)
        partial.append((item, a, b, estimate, p))
    tested = [i for i, row in enumerate(partial) if row[4] is not None]
    tested_p = [row[4] for row in partial if row[4] is not None]
    adjusted = dict(zip(tested, stats.benjamini_hochberg(tested_p), strict=True))
    out = []
    for i, (item, a, b, estimate, p) in enumerate(partial):
        p_adj = adjusted.get(i)
        oriented = None if estimate is None else (estimate if metric.higher_is_better else estimate.reciprocal())
        verdict, reasons = _decide(oriented, p_adj, item, policy)
        warnings = stability_warnings(item.a_values, item.baseline, policy) + stability_warnings(
            item.b_values, item.candidate, policy
        )
        out.append(
            Comparison(
                item.key, metric, item.baseline, item.candidate, a, b, estimate, p, p_adj, verdict, reasons, warnings
            )
        )
    return out


# --- adapters from stored runs -------------------------------------------------------------


def run_baseline(run: StoredRun) -> str:
    """The baseline of a stored run, by the one rule of analysis/baseline.py."""
    chosen = default_baseline(run.environments, {name: kind for name, (kind, _f) in run.environments.items()})
    if chosen is None:
        raise ValueError("a run without environments has no baseline")
    return chosen


def comparison_pairs(run: StoredRun, base: str, candidates: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(baseline, candidate) of every comparison: on several targets each environment against the
    baseline on its own target, or, with the run's `baseline_target`, against itself on that target."""
    labels = list(run.environments)
    target = run.settings.get("baseline_target")
    pairs = []
    for candidate in candidates if candidates is not None else labels:
        chosen = baseline_for(candidate, base, labels, target if isinstance(target, str) else None)
        if candidate not in (chosen, base):
            pairs.append((chosen, candidate))
    return pairs


def metric_values(
    trials: Iterable[StoredTrial], metric: Metric = Metric.THROUGHPUT
) -> dict[tuple[str, str], tuple[float, ...]]:
    """(cell key, environment) -> the metric of every successful trial, in trial order."""
    out: dict[tuple[str, str], tuple[float, ...]] = {}
    for key, group in by_cell_and_environment(trials).items():
        values = [
            value
            for stored in group
            if stored.status is TrialStatus.OK and stored.result is not None
            for value in [metric.of(stored.result, stored.trial.cell.pattern)]
            if value is not None and value > 0
        ]
        if values:
            out[key] = tuple(values)
    return out


def compare_run(
    run: StoredRun,
    *,
    baseline: str | None = None,
    candidates: Iterable[str] | None = None,
    metric: Metric = Metric.THROUGHPUT,
    suspects: Mapping[tuple[str, str], Sequence[str]] | None = None,
    policy: Policy = Policy(),
) -> list[Comparison]:
    """Every cell of every candidate against the baseline, one FDR family.

    `suspects` maps (cell key, environment) to the labels of the artifact checks that fired
    there (see artifacts.suspect_labels).
    """
    values = metric_values(run.trials, metric)
    flags = suspects or {}
    present = {(t.trial.cell.key, t.trial.environment) for t in run.trials}
    inputs = [
        CellInput(
            cell.key,
            base,
            cand,
            values.get((cell.key, base), ()),
            values.get((cell.key, cand), ()),
            tuple(flags.get((cell.key, base), ())),
            tuple(flags.get((cell.key, cand), ())),
        )
        for base, cand in comparison_pairs(run, baseline or run_baseline(run), candidates)
        for cell in run.cells
        if (cell.key, base) in present or (cell.key, cand) in present
    ]
    return compare_cells(inputs, metric=metric, policy=policy)
