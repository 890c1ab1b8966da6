"""The analysis part of the view-model: verdicts, artifact checks, stability warnings,
cross-block curves, suite summaries and headlines, computed once from stored trials.

Renderers read only this (and report/analysis_text.py's rows made from it); they never call the
analysis layer themselves, so terminal, Markdown and JSON always show the same verdicts.
The same view serves `iocompare report` (environments of one run against a baseline
environment) and `iocompare compare` (each environment of run B against itself in run A); in the
latter, sides are labelled "host (run 3)" and `environment_of` maps a label back to "host".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from iocompare.analysis.artifacts import CheckResult
from iocompare.analysis.compare import (
    Comparison,
    Metric,
    Policy,
    StabilityWarning,
    Verdict,
    compare_run,
    metric_values,
    run_baseline,
    stability_warnings,
)
from iocompare.analysis.crossblock import PatternCurves, SuiteSummary, cross_block, suite_summaries
from iocompare.analysis.headline import headlines
from iocompare.analysis.runchecks import check_run, reference_environment, suspect_labels
from iocompare.errors import UserError
from iocompare.model import Cell, Sample
from iocompare.store.records import StoredRun

HEADLINE_LIMIT = 5


def metric_name(metric: Metric) -> str:
    """'throughput' or 'latency-p99'."""
    return metric.value


@dataclass(frozen=True)
class AnalysisView:
    baseline: str | None  # None: one environment only, nothing to compare against
    metric: Metric
    policy: Policy
    cells: Mapping[str, Cell]  # cell key -> cell
    comparisons: tuple[Comparison, ...]  # one FDR family
    checks: Mapping[tuple[str, str], tuple[CheckResult, ...]]  # (cell key, environment label) -> all 8
    warnings: Mapping[tuple[str, str], tuple[StabilityWarning, ...]]  # (cell key, environment label)
    cross_block: tuple[PatternCurves, ...]
    suites: tuple[SuiteSummary, ...]
    headlines: tuple[str, ...]
    environment_of: Mapping[str, str] = field(default_factory=dict)  # label -> environment name

    def flags(self, key: str, environment: str) -> tuple[CheckResult, ...]:
        """The artifact checks that fired for one cell in one environment."""
        return tuple(r for r in self.checks.get((key, environment), ()) if r.fired)

    def warnings_for(self, key: str, environment: str) -> tuple[StabilityWarning, ...]:
        return self.warnings.get((key, environment), ())

    def environment(self, label: str) -> str:
        return self.environment_of.get(label, label)

    def counts(self) -> dict[str, int]:
        """Verdict kind -> number of comparisons, in Verdict's order, zeros left out."""
        out = {v.value: sum(c.verdict is v for c in self.comparisons) for v in Verdict}
        return {k: n for k, n in out.items() if n}

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.verdict is Verdict.SLOWER)


def run_warnings(
    run: StoredRun, metric: Metric, policy: Policy, label: Mapping[str, str] | None = None
) -> dict[tuple[str, str], tuple[StabilityWarning, ...]]:
    """Stability warnings of every (cell key, environment) with successful trials."""
    out = {}
    for (key, env), values in metric_values(run.trials, metric).items():
        if label is not None and env not in label:
            continue
        name = label[env] if label is not None else env
        found = stability_warnings(values, name, policy)
        if found:
            out[(key, name)] = found
    return out


def check_baseline(run: StoredRun, baseline: str | None) -> str | None:
    """The baseline environment: the one asked for (it must exist), else the default."""
    if baseline is not None:
        if baseline not in run.environments:
            known = ", ".join(run.environments) or "none"
            raise UserError(
                f"--baseline {baseline!r} is not an environment of run {run.info.id}", hint=f"environments: {known}"
            )
        return baseline
    return run_baseline(run) if run.environments else None


def build_analysis(
    run: StoredRun,
    samples: Mapping[int, Sequence[Sample]] | None = None,
    *,
    baseline: str | None = None,
    metric: Metric = Metric.THROUGHPUT,
    policy: Policy = Policy(),
) -> AnalysisView:
    """Everything the reports show beyond the raw numbers, for one stored run."""
    base = check_baseline(run, baseline)
    reference = reference_environment(run, base) if run.environments else None
    checks = check_run(run, samples or {}, reference=reference) if run.trials else {}
    suspects = suspect_labels(checks)
    cells = {c.key: c for c in run.cells}
    comparisons: list[Comparison] = []
    curves: list[PatternCurves] = []
    suites: list[SuiteSummary] = []
    if base is not None and len(run.environments) > 1:
        comparisons = compare_run(run, baseline=base, metric=metric, suspects=suspects, policy=policy)
        curves = cross_block(run, baseline=base, policy=policy)
        suites = suite_summaries(run, baseline=base, suspects=suspects, policy=policy)
    return AnalysisView(
        baseline=base if len(run.environments) > 1 else None,
        metric=metric,
        policy=policy,
        cells=cells,
        comparisons=tuple(comparisons),
        checks=checks,
        warnings=run_warnings(run, metric, policy),
        cross_block=tuple(curves),
        suites=tuple(suites),
        headlines=tuple(headlines(comparisons, cells, limit=HEADLINE_LIMIT)),
    )
