"""The cross-over diagnosis in lines of text: the four means, both effects with their CIs, the verdict."""

from __future__ import annotations

from iocompare.analysis.crossover import Diagnosis, Effect
from iocompare.analysis.stats import SampleSummary
from iocompare.units import format_rate


def _mean(summary: SampleSummary | None) -> str:
    if summary is None:
        return "no result"
    ci = f" (CI {format_rate(summary.mean_ci.low)} to {format_rate(summary.mean_ci.high)})" if summary.mean_ci else ""
    return f"{format_rate(summary.mean)}{ci}, n {summary.n}"


def _effect(effect: Effect | None) -> str:
    return "not evaluated: a combination has no result" if effect is None else effect.describe()


def diagnosis_lines(diagnosis: Diagnosis, *, cell: str, baseline: str, candidate: str, rounds: int) -> list[str]:
    b_on_b, b_on_c, c_on_b, c_on_c = diagnosis.summaries
    rows = [
        (f"{baseline} on {baseline}'s file", b_on_b),
        (f"{baseline} on {candidate}'s file", b_on_c),
        (f"{candidate} on {baseline}'s file", c_on_b),
        (f"{candidate} on {candidate}'s file", c_on_c),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [
        f"cross-over of {cell}: {candidate} against {baseline}, {rounds} rounds, each environment reading both files",
        *(f"  {label.ljust(width)}  {_mean(summary)}" for label, summary in rows),
        f"environment effect ({candidate} over {baseline}, on either file): {_effect(diagnosis.environment)}",
        f"file effect ({candidate}'s file over {baseline}'s, in either environment): {_effect(diagnosis.file)}",
        f"interaction (the environment effect on {candidate}'s file over on {baseline}'s): "
        f"{_effect(diagnosis.interaction)}",
        f"verdict: {diagnosis.finding.value} ({diagnosis.reason})",
    ]
    return lines


def not_evaluated_line(reason: str) -> str:
    return f"verdict: not evaluated: {reason}"
