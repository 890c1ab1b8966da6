"""Table rows shared by the terminal and Markdown renderers, so both show the same numbers."""

from __future__ import annotations

from dataclasses import dataclass

from iocompare.report.analysis_text import cell_label, cell_notes
from iocompare.report.build import CellSummary, DirectionSummary, Report
from iocompare.units import format_iops, format_ns, format_rate

COLUMNS = ("cell", "environment", "n", "throughput", "IOPS", "lat p50", "lat p99", "lat p99.9", "CPU usr/sys", "notes")


@dataclass(frozen=True)
class Row:
    values: tuple[str, ...]
    ok: bool


def _latency(summary: CellSummary, attribute: str) -> str:
    sides: list[tuple[str, DirectionSummary]] = [
        (label, side) for label, side in (("r", summary.read), ("w", summary.write)) if side is not None
    ]
    if not sides:
        return "-"
    if summary.latency_note:  # a coarse clock (facts/judge.py latency_clock): said once, in the p50 column
        return summary.latency_note if attribute == "lat_p50_ns" else "not measurable"
    if len(sides) == 1:
        return format_ns(getattr(sides[0][1], attribute))
    return " ".join(f"{label} {format_ns(getattr(side, attribute))}" for label, side in sides)


def row(summary: CellSummary, analysis_notes: list[str] | None = None) -> Row:
    """`analysis_notes`: stability warnings and fired checks (analysis_text.cell_notes)."""
    label = cell_label(summary.cell)
    n = f"{summary.n_ok}/{summary.n_total}"
    if summary.n_ok == 0:
        status = ", ".join(summary.statuses)
        note = f"{status}: {'; '.join(summary.reasons)}" if summary.reasons else status
        note = "; ".join([note, *(analysis_notes or [])])
        return Row((label, summary.environment, n, "-", "-", "-", "-", "-", "-", note), ok=False)
    cpu = "-"
    if summary.cpu_usr_pct is not None and summary.cpu_sys_pct is not None:
        cpu = f"{summary.cpu_usr_pct:.0f}% / {summary.cpu_sys_pct:.0f}%"
    notes = list(analysis_notes or []) + list(summary.reasons) + list(summary.labels.values())
    return Row(
        (
            label,
            summary.environment,
            n,
            format_rate(summary.geomean_bw_bps),
            format_iops(summary.geomean_iops),
            _latency(summary, "lat_p50_ns"),
            _latency(summary, "lat_p99_ns"),
            _latency(summary, "lat_p999_ns"),
            cpu,
            "; ".join(notes),
        ),
        ok=True,
    )


def rows(report: Report) -> list[Row]:
    out = []
    for cell in report.cells:
        for environment in report.environments:
            summary = report.summary(cell, environment)
            if summary is not None:
                out.append(row(summary, cell_notes(report.analysis, cell.key, environment)))
    return out


UNITS_NOTE = (
    "throughput in MiB/s (1 MiB = 1,048,576 bytes) and IOPS: geometric mean over trials (the verdicts' ratio "
    "is theirs); latency is fio's total latency "
    "(submission + completion) percentiles from its histogram, median over trials; n = ok/total trials; "
    "notes: stability warnings (CV above 10 %, fewer than 5 trials, first-trial outlier) and the artifact checks "
    "that fired (flag: id, explained below)"
)
