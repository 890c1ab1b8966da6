"""The result table for a terminal (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from iocompare.report.build import Report
from iocompare.report.rows import COLUMNS, UNITS_NOTE, rows


def render_terminal(report: Report, out: Console) -> None:
    info = report.run.info
    table = Table(*COLUMNS, title=f"run {info.id} ({info.name}): suite {info.suite_name}, {info.status.value}", title_justify="left")
    for column in table.columns[2:9]:
        column.justify = "right"
    previous_cell = None
    for r in rows(report):
        if previous_cell is not None and r.values[0] != previous_cell:
            table.add_section()
        previous_cell = r.values[0]
        table.add_row(*r.values, style=None if r.ok else "yellow")
    out.print(table)
    out.print(UNITS_NOTE, markup=False, style="dim")
