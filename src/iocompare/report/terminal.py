"""The report for a terminal: the answer first (one line per environment against the baseline, then
the compact matrix of cells by environments), readable at 80 columns with no number cut; with
--verbose the result table, verdicts, checks and the analysis across block sizes follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from iocompare.report import analysis_text as text
from iocompare.report.analysis_view import AnalysisView
from iocompare.report.answer import LEGEND, environment_summaries, matrix_lines, plain_rows, wrap
from iocompare.report.build import Report
from iocompare.report.fleet_text import fleet_lines
from iocompare.report.rows import COLUMNS, UNITS_NOTE, rows
from iocompare.report.settings import header_lines
from iocompare.system.safe_text import escape


def _table(columns: Sequence[str], body: list[tuple[str, ...]], title: str, right: Sequence[int] = ()) -> Table:
    table = Table(*columns, title=title, title_justify="left")
    for column in table.columns:
        column.overflow = "fold"  # never "…" in place of a digit
    for i in right:
        table.columns[i].justify = "right"
    previous = None
    for values in body:
        if previous is not None and values[0] != previous:
            table.add_section()
        previous = values[0]
        table.add_row(*(Text(escape(v)) for v in values))  # plain text: "[...]" in a message is not markup
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


WARNING_TEXT = {
    "high-cv": "CV above {cv}",
    "too-few-trials": "fewer than {n} trials",
    "first-trial-outlier": "first trial an outlier",
}
LISTED = 4


def warning_lines(view: AnalysisView) -> list[str]:
    """Each stability warning once: per environment and kind, the cells it applies to."""
    by_code: dict[tuple[str, str], list[str]] = {}
    for (key, env), found in view.warnings.items():
        for w in found:
            by_code.setdefault((view.environment(env), w.code), []).append(key)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}  # same environment and cells: one line
    for (env, code), keys in by_code.items():
        what = WARNING_TEXT.get(code, code).format(cv=f"{view.policy.cv_limit:.0%}", n=view.policy.min_trials)
        groups.setdefault((env, tuple(keys)), []).append(what)
    out = []
    for (env, cells), whats in groups.items():
        shown = ", ".join(cells[:LISTED]) + (f" + {len(cells) - LISTED} more" if len(cells) > LISTED else "")
        out.append(f"{env}: {'; '.join(whats)} in {shown}")
    return out


def flag_lines(view: AnalysisView) -> list[str]:
    """Each fired check once: per environment and check, in how many cells."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    totals: dict[str, int] = {}
    for (key, env), results in view.checks.items():
        totals[env] = totals.get(env, 0) + 1
        for r in results:
            if r.fired:
                groups.setdefault((env, r.check.value, r.label), []).append(key)
    out = []
    for (env, check, label), keys in groups.items():
        where = f"all {len(keys)} cells" if len(keys) == totals[env] and len(keys) > 1 else ", ".join(keys[:LISTED])
        if len(keys) > LISTED and len(keys) != totals[env]:
            where += f" + {len(keys) - LISTED} more"
        out.append(f"{view.environment(env)}: suspect: {label} ({check}) in {where}")
    return out


PROBLEMS_LISTED = 8


def problem_lines(report: Report) -> list[str]:
    """Cells with trials that did not succeed (failed, refused, not applicable), with the reasons:
    a cell without a number must say why, here as in every format."""
    out = []
    for cell in report.cells:
        for env in report.environments:
            s = report.summary(cell, env)
            if s is None or s.n_ok == s.n_total:
                continue
            counts = ", ".join(f"{n} {status}" for status, n in s.statuses.items() if status != "ok")
            out.append(f"{env} {cell.key}: {counts}" + (f": {'; '.join(s.reasons)}" if s.reasons else ""))
    if len(out) > PROBLEMS_LISTED:
        out = [*out[:PROBLEMS_LISTED], f"+ {len(out) - PROBLEMS_LISTED} more (--verbose lists every cell)"]
    return out


def answer_lines(report: Report, width: int) -> list[str]:
    """Everything before the details: header, settings, the per-environment answer, caveats,
    the matrix and its legend, warnings and flags once each. Plain lines, none wider than `width`."""
    # Imported here: html_view pulls in the chart statistics, which the plain path does not need.
    from iocompare.report.html_view import caveats

    info = report.run.info
    view = report.analysis
    lines: list[str] = []

    def add(text: str, indent: str = "") -> None:
        lines.extend(wrap(text, width, indent))

    created = dt.datetime.fromtimestamp(info.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    add(f"run {info.id} ({info.name}): {info.status.value}, {info.trials_ok}/{info.trials_total} trials ok, {created}")
    for line in header_lines(report.run):
        add(line, "  ")
    lines.append("")
    summaries = environment_summaries(report)
    if view.baseline is not None:
        p = view.policy
        add(
            f"against {view.baseline}: throughput, geometric mean of the cell ratios (flagged cells left out); "
            f"noise threshold {p.noise:.0%}, at least {p.min_trials} trials a side",
        )
        for summary in summaries:
            add("  " + summary.line(), "      ")
    elif report.environments:
        add(f"one environment ({', '.join(report.environments)}): no verdicts; artifact checks and warnings only")
    found = caveats(report, flags=False, warnings=False)
    if found:
        lines.append("")
        add("read this first:")
        for line in found:
            add("  " + line, "    ")
    matrix = matrix_lines(report, width)
    if matrix:
        lines.append("")
        lines += matrix
        add(LEGEND if view.baseline is not None else LEGEND.split(";")[0])
    return lines


def render_terminal(report: Report, out: Console, *, verbose: bool = False) -> None:
    """The answer first (readable at 80 columns, numbers never cut), then, with `verbose`, the
    results table, verdicts with p-values, checks with evidence and the analysis across block sizes."""
    width = out.width
    for line in answer_lines(report, width):
        _line(out, line)
    if report.diagnosis:
        _line(out, "")
        for line in report.diagnosis:
            for part in wrap(line, width, "    "):
                _line(out, part)
    view = report.analysis
    flags, warnings, problems = flag_lines(view), warning_lines(view), problem_lines(report)
    for title, lines in (
        ("trials that did not succeed:", problems),
        ("artifact checks that fired (suspect, never corrected):", flags),
        ("stability warnings:", warnings),
        ("all at once (per host and aggregate, across trials):", fleet_lines(report.run)),
    ):
        if lines:
            _line(out, "")
            _line(out, title)
            for line in lines:
                for part in wrap("  " + line, width, "    "):
                    _line(out, part)
    if not verbose:
        _line(out, "")
        for part in wrap(
            "details (--verbose): every cell's latency and CPU, verdicts with p-values, the checks' evidence, "
            "ratios across block sizes",
            width,
        ):
            _line(out, part, "dim")
        return
    scope = f"against {view.baseline}" if view.baseline else ""
    out.print()
    table = Table(*COLUMNS, title="results", title_justify="left")
    for index, column in enumerate(table.columns):
        column.overflow = "fold"  # wrap inside the cell rather than cut a number with "…"
        if 2 <= index <= 8:
            column.justify = "right"
    previous_cell = None
    for r in rows(report):
        if previous_cell is not None and r.values[0] != previous_cell:
            table.add_section()
        previous_cell = r.values[0]
        table.add_row(*(Text(escape(v)) for v in r.values), style=None if r.ok else "yellow")
    out.print(table)
    _line(out, UNITS_NOTE, "dim")
    render_summary(view, out, scope)
    render_analysis(view, out, scope)


def render_plain(report: Report) -> str:
    """`--plain`: tab-separated values, a header row first, for scripts."""
    return "".join("\t".join(row) + "\n" for row in plain_rows(report))
