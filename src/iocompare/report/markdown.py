"""The report as Markdown: summary and headlines, the result table, verdicts, the artifact checks
that fired, the analysis across block sizes, then the facts every number depends on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iocompare.report import analysis_text as text
from iocompare.report.analysis_text import cell_notes
from iocompare.report.analysis_view import AnalysisView
from iocompare.report.build import Report, environment_facts
from iocompare.report.cell_stats import cell_stats
from iocompare.report.html_view import caveats
from iocompare.report.rows import COLUMNS, UNITS_NOTE, row
from iocompare.report.settings import header_lines
from iocompare.system.safe_text import escape as terminal_escape
from iocompare.units import format_rate


def escape(value: str) -> str:
    # control and bidi characters last, as visible \x1b escapes: a report file is printed with cat too
    value = value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")
    return terminal_escape(value)


def table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(escape(v) for v in values) + " |" for values in body]
    return lines


def summary_section(view: AnalysisView, scope: str) -> list[str]:
    lines = []
    if view.comparisons:
        lines += [f"**{escape(text.counts_line(view, scope))}**", ""]
    lines += [f"- {escape(line)}" for line in view.headlines]
    return lines + ([""] if view.headlines else [])


def analysis_sections(view: AnalysisView, scope: str) -> list[str]:
    lines: list[str] = []
    if view.comparisons:
        lines += [f"## Verdicts {escape(scope)}", "", *table(text.VERDICT_COLUMNS, text.verdict_rows(view)), ""]
        lines += [f"_{escape(text.verdict_note(view))}._", ""]
    lines += ["## Artifact checks that fired", ""]
    flags = text.flag_rows(view)
    lines += [*table(text.FLAG_COLUMNS, flags), ""] if flags else ["None fired.", ""]
    missing = text.not_evaluated_line(view)
    if missing:
        lines += [f"_{escape(missing)}._", ""]
    cross = text.cross_rows(view)
    if cross:
        lines += ["## Across block sizes", "", *table(text.CROSS_COLUMNS, cross), ""]
        lines += [f"- {escape(line)}" for line in text.crossing_lines(view)] + [""]
    suites = text.suite_lines(view)
    if suites:
        lines += ["## Suite summary", "", "Cells flagged suspect are left out.", ""]
        lines += [f"- {escape(line)}" for line in suites] + [""]
    return lines


def chart_section(charts: Sequence[tuple[str, str, str]]) -> list[str]:
    """(title, image file relative to the report, caption) -> a Charts section."""
    if not charts:
        return []
    lines = ["## Charts", ""]
    for title, file, caption in charts:
        lines += [f"### {escape(title)}", "", f"![{escape(title)}]({file})", "", f"_{escape(caption)}_", ""]
    return lines


CI_NOTE = (
    "the interval after a throughput is its 95 % bootstrap CI (three trials or more; below three none is given, "
    "since it would be little more than the values themselves)"
)


def with_intervals(report: Report) -> list[tuple[str, ...]]:
    """The shared result rows (report/rows.py), each throughput followed by the CI of its geometric mean."""
    stats = cell_stats(report.run, None, report.analysis.policy)
    position = COLUMNS.index("throughput")
    out = []
    for cell in report.cells:
        for env in report.environments:
            summary = report.summary(cell, env)
            if summary is None:
                continue
            values = list(row(summary, cell_notes(report.analysis, cell.key, env)).values)
            found = stats.get((cell.key, env))
            geo = found.bw_geo if found is not None else None
            if geo is not None and geo.ci is not None:
                values[position] += f" ({format_rate(geo.ci.low).removesuffix(' MiB/s')} – {format_rate(geo.ci.high)})"
            out.append(tuple(values))
    return out


def render_markdown(report: Report, charts: Sequence[tuple[str, str, str]] = ()) -> str:
    """`charts`: PNG files written beside the report (report/write.py), shown after the results."""
    info = report.run.info
    view = report.analysis
    scope = f"against {view.baseline}" if view.baseline else ""
    created = dt.datetime.fromtimestamp(info.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# iocompare run {info.id}: {escape(info.name)}",
        "",
        f"Suite `{escape(info.suite_name)}`, started {created}, status **{info.status.value}**, "
        f"{info.trials_ok}/{info.trials_total} trials ok.",
        "",
        *[f"- {escape(line)}" for line in header_lines(report.run)],
        "",
    ]
    found = caveats(report)
    lines += ["## Read this first", ""]
    lines += (
        [f"- {escape(line)}" for line in found]
        if found
        else ["No caveat: no software emulation, no memory-backed target, no artifact check fired."]
    )
    lines.append("")
    lines += summary_section(view, scope)
    lines += ["## Results", "", *table(COLUMNS, with_intervals(report)), "", f"_{escape(UNITS_NOTE)}; {CI_NOTE}._", ""]
    lines += chart_section(charts)
    lines += analysis_sections(view, scope)
    lines += ["## Host", "", *table(("fact", "value"), sorted(report.run.host_facts.items())), ""]
    for environment in report.environments:
        kind, _facts = report.run.environments[environment]
        lines += [f"## Environment `{escape(environment)}` ({kind})", ""]
        lines += table(("fact", "value"), sorted(environment_facts(report.run, environment).items()))
        lines.append("")
    return "\n".join(lines)
