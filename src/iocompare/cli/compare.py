"""`iocompare compare RUN_A RUN_B`: run B against baseline run A, cell by cell and environment by
environment; exit code 1 when a cell is significantly slower beyond the threshold (a CI gate)."""

from __future__ import annotations

from typing import Annotated

import typer

from iocompare.cli.common import DbOption, ThresholdOption, console, policy_for, resolve_db
from iocompare.cli.report import Format
from iocompare.errors import ExitCode
from iocompare.report.compare_render import render_compare_json, render_compare_markdown, render_compare_terminal
from iocompare.report.compare_view import build_compare
from iocompare.store import Store


def compare(
    run_a: Annotated[str, typer.Argument(help="Baseline run: id, name or 'latest'.")],
    run_b: Annotated[str, typer.Argument(help="Candidate run: id, name or 'latest'.")],
    threshold: ThresholdOption = 5.0,
    format: Annotated[Format, typer.Option("--format", help="terminal, markdown or json.")] = Format.TERMINAL,
    db: DbOption = None,
) -> int:
    """Compare two stored runs; exit 1 on a significant regression beyond the threshold."""
    policy = policy_for(threshold)
    with Store.open(resolve_db(db), readonly=True) as store:
        id_a, id_b = store.resolve_run(run_a), store.resolve_run(run_b)
        a, b = store.load_run(id_a), store.load_run(id_b)
        view = build_compare(a, b, store.run_samples(id_a), store.run_samples(id_b), policy=policy)
    if format is Format.TERMINAL:
        render_compare_terminal(view, console())
    elif format is Format.MARKDOWN:
        print(render_compare_markdown(view))
    else:
        print(render_compare_json(view))
    return int(ExitCode.FAILURES if view.regressions else ExitCode.OK)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare)
