"""`iocompare suites`: the built-in suites and their cells."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from iocompare.cli.common import console
from iocompare.spec.load import BUILTIN_SUITES, builtin_suite_text, load_suite


def suites(
    show: Annotated[
        str | None, typer.Option("--show", help="Print one suite's TOML (a starting point for your own).")
    ] = None,
) -> None:
    """List built-in suites with their cells."""
    out = console()
    if show is not None:
        load_suite(show)  # a clear error for an unknown name
        out.print(builtin_suite_text(show), markup=False, end="")
        return
    for name in BUILTIN_SUITES:
        suite = load_suite(name)
        cells = suite.describe_cells()
        table = Table(title=f"{name}: {suite.description}", title_justify="left", show_header=False, box=None)
        table.add_column("cells")
        for line in cells:
            table.add_row(line)
        out.print(table)
        out.print(
            f"  {len(cells)} cells, repeat {suite.repeat}, ramp {suite.ramp_s} s + runtime {suite.runtime_s} s, "
            f"working set {suite.working_set.size >> 20} MiB\n"
        )


def register(app: typer.Typer) -> None:
    app.command("suites")(suites)
