"""The report as Markdown: the result table, then the facts every number depends on."""

from __future__ import annotations

import datetime as dt

from iocompare.report.build import Report, environment_facts
from iocompare.report.rows import COLUMNS, UNITS_NOTE, rows


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_escape(v) for v in values) + " |" for values in body]
    return lines


def render_markdown(report: Report) -> str:
    info = report.run.info
    created = dt.datetime.fromtimestamp(info.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# iocompare run {info.id}: {_escape(info.name)}",
        "",
        f"Suite `{_escape(info.suite_name)}`, started {created}, status **{info.status.value}**, "
        f"{info.trials_ok}/{info.trials_total} trials ok.",
        "",
        "## Results",
        "",
        *_table(COLUMNS, [r.values for r in rows(report)]),
        "",
        f"_{UNITS_NOTE}._",
        "",
        "## Host",
        "",
        *_table(("fact", "value"), sorted(report.run.host_facts.items())),
        "",
    ]
    for environment in report.environments:
        kind, _facts = report.run.environments[environment]
        lines += [f"## Environment `{_escape(environment)}` ({kind})", ""]
        lines += _table(("fact", "value"), sorted(environment_facts(report.run, environment).items()))
        lines.append("")
    return "\n".join(lines)
