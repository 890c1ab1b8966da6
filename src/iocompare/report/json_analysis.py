"""JSON of the analysis view (verdicts, checks, warnings, cross-block, suite summaries), shared by
the report (`analysis` and per-cell fields) and `iocompare compare`. Fields: docs/report-json.md."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from iocompare.analysis.artifacts import CheckResult
from iocompare.analysis.compare import Comparison, StabilityWarning
from iocompare.analysis.crossblock import PatternCurves, SuiteSummary
from iocompare.analysis.stats import Interval, RatioEstimate
from iocompare.report.analysis_view import AnalysisView, metric_name


def _ci(ci: Interval | None) -> dict[str, float | None]:
    return {"ci_low": None if ci is None else ci.low, "ci_high": None if ci is None else ci.high}


def _estimate(e: RatioEstimate | None) -> dict[str, Any]:
    return {"ratio": None if e is None else e.ratio, **_ci(None if e is None else e.ci)}


def warning_json(w: StabilityWarning) -> dict[str, str]:
    return {"code": w.code, "environment": w.environment, "message": w.message}


def check_json(r: CheckResult) -> dict[str, Any]:
    return {
        "id": r.check.value,
        "status": r.status.value,
        "label": r.label,
        "explanation": r.explanation,
        "evidence": dict(r.evidence),
    }


def cell_analysis(view: AnalysisView, key: str, environment: str) -> dict[str, Any]:
    """Fields added to a cell object: its stability warnings, all eight checks, the fired ones' ids."""
    return {
        "warnings": [warning_json(w) for w in view.warnings_for(key, environment)],
        "checks": [check_json(r) for r in view.checks.get((key, environment), ())],
        "flags": [r.check.value for r in view.flags(key, environment)],
    }


def comparison_json(view: AnalysisView, c: Comparison) -> dict[str, Any]:
    return {
        "key": c.key,
        "environment": view.environment(c.candidate),
        "baseline": c.baseline,
        "candidate": c.candidate,
        "metric": metric_name(c.metric),
        "verdict": c.verdict.value,
        "text": c.describe(),
        "reasons": list(c.reasons),
        **_estimate(c.estimate),
        "p_value": c.p_value,
        "p_adjusted": c.p_adjusted,
        "baseline_summary": None if c.a is None else asdict(c.a),
        "candidate_summary": None if c.b is None else asdict(c.b),
        "warnings": [warning_json(w) for w in c.warnings],
    }


def cross_block_json(pc: PatternCurves) -> dict[str, Any]:
    base = next((e for e in pc.curves if e not in pc.ratios), None)
    return {
        "workload": pc.workload,
        "pattern": pc.pattern.value,
        "baseline": base,
        "curves": {
            env: [
                {
                    "block_size_bytes": p.block_size_bytes,
                    "n": p.n,
                    "bw_bytes_per_s": p.bw_bps,
                    "iops": p.iops,
                    "lat_p50_ns": p.lat_p50_ns,
                    "lat_p99_ns": p.lat_p99_ns,
                }
                for p in points
            ]
            for env, points in pc.curves.items()
        },
        "ratios": {
            env: [{"block_size_bytes": p.block_size_bytes, **_estimate(p.estimate)} for p in points]
            for env, points in pc.ratios.items()
        },
        "crossings": {env: [{**asdict(c), "text": c.describe()} for c in found] for env, found in pc.crossings.items()},
    }


def suite_json(s: SuiteSummary) -> dict[str, Any]:
    return {
        "baseline": s.baseline,
        "candidate": s.candidate,
        "n_cells": s.n_cells,
        "ratio": s.ratio,
        **_ci(s.ci),
        "excluded": list(s.excluded),
    }


def analysis_json(view: AnalysisView) -> dict[str, Any]:
    p = view.policy
    return {
        "baseline": view.baseline,
        "metric": metric_name(view.metric),
        "policy": {
            "noise_threshold": p.noise,
            "fdr_q": p.fdr_q,
            "min_trials": p.min_trials,
            "cv_limit": p.cv_limit,
            "confidence": p.confidence,
            "bootstrap_resamples": p.n_boot,
            "permutations": p.n_permutations,
            "seed": p.seed,
        },
        "verdict_counts": view.counts(),
        "headlines": list(view.headlines),
        "comparisons": [comparison_json(view, c) for c in view.comparisons],
        "cross_block": [cross_block_json(pc) for pc in view.cross_block],
        "suite_summaries": [suite_json(s) for s in view.suites],
    }
