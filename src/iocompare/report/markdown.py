"""The report as Markdown: summary and headlines, the result table, verdicts, the artifact checks
that fired, the analysis across block sizes, then the facts every number depends on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from iocompare.report import analysis_text as text
from iocompare.report.analysis_view import AnalysisView
from iocompare.report.build import Report, environment_facts
from iocompare.report.rows import COLUMNS, UNITS_NOTE, rows


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


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
    ]
    if view.baseline is None and report.environments:
        lines += [
            f"One environment ({escape(', '.join(report.environments))}): no verdicts; "
            "artifact checks and stability warnings only.",
            "",
        ]
    lines += summary_section(view, scope)
    lines += ["## Results", "", *table(COLUMNS, [r.values for r in rows(report)]), "", f"_{UNITS_NOTE}._", ""]
    lines += chart_section(charts)
    lines += analysis_sections(view, scope)
    lines += ["## Host", "", *table(("fact", "value"), sorted(report.run.host_facts.items())), ""]
    for environment in report.environments:
        kind, _facts = report.run.environments[environment]
        lines += [f"## Environment `{escape(environment)}` ({kind})", ""]
        lines += table(("fact", "value"), sorted(environment_facts(report.run, environment).items()))
        lines.append("")
    return "\n".join(lines)
