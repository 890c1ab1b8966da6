"""The view-model of `iocompare compare RUN_A RUN_B`: the facts that differ, then the analysis of
every environment of run B (candidate) against the same environment of run A (baseline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from iocompare.analysis.compare import Comparison, Metric, Policy, Verdict, compare_cells
from iocompare.analysis.crossblock import PatternCurves, SuiteSummary, cross_block_from_results, suite_summary
from iocompare.analysis.headline import headlines
from iocompare.analysis.runchecks import check_run, suspect_labels
from iocompare.analysis.runs_compare import (
    FactDifference,
    fact_differences,
    pair_inputs,
    pair_results,
    pair_runs,
    pair_suite_cells,
)
from iocompare.errors import UserError
from iocompare.model import Sample
from iocompare.report.analysis_view import HEADLINE_LIMIT, AnalysisView, run_warnings
from iocompare.store.records import RunInfo, StoredRun


@dataclass(frozen=True)
class CompareView:
    a: RunInfo  # baseline run
    b: RunInfo  # candidate run
    differences: tuple[FactDifference, ...]
    analysis: AnalysisView

    @property
    def regressions(self) -> tuple[Comparison, ...]:
        return self.analysis.regressions


_V = TypeVar("_V")


def _relabel(
    mapping: Mapping[tuple[str, str], _V], label: Mapping[str, str], keys: tuple[str, ...]
) -> dict[tuple[str, str], _V]:
    """(cell key, environment) -> (cell key, side label), for the cells both runs have."""
    return {(key, label[env]): value for (key, env), value in mapping.items() if env in label and key in keys}


def build_compare(
    a: StoredRun,
    b: StoredRun,
    samples_a: Mapping[int, Sequence[Sample]] | None = None,
    samples_b: Mapping[int, Sequence[Sample]] | None = None,
    *,
    metric: Metric = Metric.THROUGHPUT,
    policy: Policy = Policy(),
) -> CompareView:
    """Raises UserError when the runs have no cell (same key and environment) in common."""
    pair = pair_runs(a, b)
    checks_a = check_run(a, samples_a or {}) if a.trials else {}
    checks_b = check_run(b, samples_b or {}) if b.trials else {}
    inputs = pair_inputs(pair, metric=metric, suspects_a=suspect_labels(checks_a), suspects_b=suspect_labels(checks_b))
    if not inputs:
        raise UserError(
            f"runs {a.info.id} and {b.info.id} have no cell in common (same cell key in the same environment)",
            hint="compare runs of the same suite and environments; iocompare runs lists them",
        )
    labels_a = {env: pair.label_a(env) for env in pair.environments}
    labels_b = {env: pair.label_b(env) for env in pair.environments}
    comparisons = compare_cells(inputs, metric=metric, policy=policy)
    curves: list[PatternCurves] = []
    suites: list[SuiteSummary] = []
    for env in pair.environments:
        curves += cross_block_from_results(pair_results(pair, env), labels_a[env], policy=policy)
        flagged = {c.key for c in comparisons if c.baseline == labels_a[env] and c.verdict is Verdict.SUSPECT}
        suites.append(
            suite_summary(
                pair_suite_cells(pair, env, metric),
                baseline=labels_a[env],
                candidate=labels_b[env],
                exclude=flagged,
                policy=policy,
            )
        )
    cells = {c.key: c for c in b.cells if c.key in set(pair.keys)}
    analysis = AnalysisView(
        baseline=None,
        metric=metric,
        policy=policy,
        cells=cells,
        comparisons=tuple(comparisons),
        checks={**_relabel(checks_a, labels_a, pair.keys), **_relabel(checks_b, labels_b, pair.keys)},
        warnings={
            k: v
            for k, v in {
                **run_warnings(a, metric, policy, labels_a),
                **run_warnings(b, metric, policy, labels_b),
            }.items()
            if k[0] in pair.keys
        },
        cross_block=tuple(curves),
        suites=tuple(suites),
        headlines=tuple(headlines(comparisons, cells, limit=HEADLINE_LIMIT)),
        environment_of={**{v: k for k, v in labels_a.items()}, **{v: k for k, v in labels_b.items()}},
    )
    return CompareView(a.info, b.info, tuple(fact_differences(a, b)), analysis)
