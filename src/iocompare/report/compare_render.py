"""`iocompare compare` as terminal text, Markdown or JSON. The facts that differ between the two
runs come first: they may be the whole explanation of a verdict. JSON: docs/report-json.md."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from iocompare.report.compare_view import CompareView
from iocompare.report.json_analysis import analysis_json, cell_analysis
from iocompare.report.markdown import analysis_sections, escape, summary_section, table
from iocompare.report.terminal import render_analysis, render_summary
from iocompare.store.records import RunInfo
from iocompare.system.safe_text import escape as terminal_escape

COMPARE_SCHEMA_NAME = "iocompare-compare"
COMPARE_SCHEMA_VERSION = 1
DIFF_COLUMNS = ("scope", "fact", "baseline run", "candidate run")


def _run(info: RunInfo) -> str:
    return f"run {info.id} ({info.name}, suite {info.suite_name}, {info.status.value})"


def _title(view: CompareView) -> str:
    return f"{_run(view.b)} against the baseline {_run(view.a)}"


def _scope(view: CompareView) -> str:
    return f"of run {view.b.id} against run {view.a.id}"


def diff_rows(view: CompareView) -> list[tuple[str, ...]]:
    return [(d.scope, d.name, "-" if d.a is None else d.a, "-" if d.b is None else d.b) for d in view.differences]


def regression_line(view: CompareView) -> str:
    noise = f"{view.analysis.policy.noise:.0%}"
    found = view.regressions
    if not found:
        suspect = view.analysis.counts().get("suspect", 0)
        unjudged = f" ({suspect} suspect comparison(s) could not be judged: see the flags)" if suspect else ""
        return f"no significant regression beyond the {noise} threshold{unjudged}"
    cells = "; ".join(f"{c.key} in {view.analysis.environment(c.candidate)}: {c.describe()}" for c in found)
    return f"REGRESSION: {len(found)} cell(s) significantly slower beyond the {noise} threshold: {cells}"


def render_compare_terminal(view: CompareView, out: Console) -> None:
    out.print(f"iocompare compare: {_title(view)}", markup=False, style="bold", highlight=False)
    if view.differences:
        out.print("facts that differ between the runs (read these before the verdicts):", markup=False, highlight=False)
        t = Table(*DIFF_COLUMNS)
        for row in diff_rows(view):
            t.add_row(*(Text(terminal_escape(v)) for v in row))
        out.print(t)
    else:
        out.print("facts that differ between the runs: none", markup=False, highlight=False)
    out.print()
    render_summary(view.analysis, out, _scope(view))
    render_analysis(view.analysis, out, _scope(view))
    out.print()
    out.print(regression_line(view), markup=False, highlight=False, style="bold red" if view.regressions else "bold")


def render_compare_markdown(view: CompareView) -> str:
    lines = [f"# iocompare compare: {escape(_title(view))}", "", "## Facts that differ between the runs", ""]
    diffs = diff_rows(view)
    lines += [*table(DIFF_COLUMNS, diffs), ""] if diffs else ["None.", ""]
    lines += ["## Summary", "", *summary_section(view.analysis, _scope(view))]
    lines += [f"**{escape(regression_line(view))}**", ""]
    lines += analysis_sections(view.analysis, _scope(view))
    return "\n".join(lines)


def _info(info: RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "suite": info.suite_name,
        "status": info.status.value,
        "created_at": info.created_at,
        "finished_at": info.finished_at,
        "environments": list(info.environments),
    }


def compare_dict(view: CompareView) -> dict[str, Any]:
    a = view.analysis
    sides = {
        label: ("baseline" if c.baseline == label else "candidate")
        for c in a.comparisons
        for label in (c.baseline, c.candidate)
    }
    keys = sorted(set(a.checks) | set(a.warnings), key=lambda k: (a.environment(k[1]), sides.get(k[1], ""), k[0]))
    return {
        "schema": COMPARE_SCHEMA_NAME,
        "schema_version": COMPARE_SCHEMA_VERSION,
        "baseline_run": _info(view.a),
        "candidate_run": _info(view.b),
        "threshold_pct": a.policy.noise * 100,
        "differences": [
            {"scope": d.scope, "name": d.name, "baseline": d.a, "candidate": d.b} for d in view.differences
        ],
        "regressions": [
            {"key": c.key, "environment": a.environment(c.candidate), "text": c.describe()} for c in view.regressions
        ],
        "cells": [
            {
                "key": key,
                "environment": a.environment(label),
                "label": label,
                "run": sides.get(label),
                **cell_analysis(a, key, label),
            }
            for key, label in keys
        ],
        "analysis": analysis_json(a),
    }


def render_compare_json(view: CompareView) -> str:
    return json.dumps(compare_dict(view), indent=2, default=str)
