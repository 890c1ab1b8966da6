"""The report for a terminal (rich): summary and headlines, the result table, then verdicts,
the artifact checks that fired and the analysis across block sizes. Readable at 160 columns."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from iocompare.report import analysis_text as text
from iocompare.report.analysis_view import AnalysisView
from iocompare.report.build import Report
from iocompare.report.rows import COLUMNS, UNITS_NOTE, rows
from iocompare.spec.design import stored_design
from iocompare.units import format_duration


def _table(columns: Sequence[str], body: list[tuple[str, ...]], title: str, right: Sequence[int] = ()) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for i in right:
        table.columns[i].justify = "right"
    previous = None
    for values in body:
        if previous is not None and values[0] != previous:
            table.add_section()
        previous = values[0]
        table.add_row(*(Text(v) for v in values))  # plain text: "[...]" in a message is not markup
    return table


def _line(out: Console, line: str, style: str | None = None) -> None:
    out.print(line, markup=False, style=style, highlight=False)


def render_summary(view: AnalysisView, out: Console, scope: str) -> None:
    """The lines to read first: what was compared, how it came out, the biggest and the suspect results."""
    if view.comparisons:
        _line(out, text.counts_line(view, scope), "bold")
    for line in view.headlines:
        _line(out, "  " + line, "yellow" if " — suspect: " in line else None)


def render_analysis(view: AnalysisView, out: Console, scope: str) -> None:
    """Verdicts, fired checks, cross-block ratios and suite summaries (everything below the table)."""
    if view.comparisons:
        out.print()
        out.print(_table(text.VERDICT_COLUMNS, text.verdict_rows(view), f"verdicts {scope}", right=(2, 3, 4, 5)))
        _line(out, text.verdict_note(view), "dim")
    flags = text.flag_rows(view)
    out.print()
    if flags:
        out.print(
            _table(
                text.FLAG_COLUMNS, flags, "artifact checks that fired (a flagged result is suspect, never corrected)"
            )
        )
    else:
        _line(out, "artifact checks: none fired")
    missing = text.not_evaluated_line(view)
    if missing:
        _line(out, missing, "dim")
    cross = text.cross_rows(view)
    if cross:
        out.print()
        out.print(
            _table(
                text.CROSS_COLUMNS,
                cross,
                "across block sizes: throughput and ratio to the baseline",
                right=(1, 3, 4, 5),
            )
        )
        for line in text.crossing_lines(view):
            _line(out, "  " + line)
    suites = text.suite_lines(view)
    if suites:
        out.print()
        _line(out, "suite summary (cells flagged suspect are left out):", "bold")
        for line in suites:
            _line(out, "  " + line)


def fio_seconds(report: Report) -> float:
    """Ramp plus the runtime fio ran (steady-state trials end early), summed over the run's trials."""
    total = 0.0
    for stored in report.run.trials:
        result, cell = stored.result, stored.trial.cell
        ran = [d.runtime_ms for d in (result.read, result.write) if d is not None] if result else []
        total += cell.ramp_s + (max(ran) / 1000 if ran else cell.runtime_s)
    return total


def render_terminal(report: Report, out: Console) -> None:
    info = report.run.info
    view = report.analysis
    scope = f"against {view.baseline}" if view.baseline else ""
    _line(out, f"run {info.id} ({info.name}): suite {info.suite_name}, {info.status.value}", "bold")
    design = stored_design(report.run.suite_json)
    if design is not None:
        _line(out, f"{design}; {len(report.run.trials)} trials, fio {format_duration(fio_seconds(report))}", "dim")
    if view.baseline is None and report.environments:
        _line(
            out,
            f"one environment ({', '.join(report.environments)}): no verdicts; "
            "artifact checks and stability warnings only",
        )
    render_summary(view, out, scope)
    table = Table(*COLUMNS, title="results", title_justify="left")
    for column in table.columns[2:9]:
        column.justify = "right"
    previous_cell = None
    for r in rows(report):
        if previous_cell is not None and r.values[0] != previous_cell:
            table.add_section()
        previous_cell = r.values[0]
        table.add_row(*(Text(v) for v in r.values), style=None if r.ok else "yellow")
    out.print(table)
    _line(out, UNITS_NOTE, "dim")
    render_analysis(view, out, scope)
