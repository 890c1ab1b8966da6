"""`iocompare report`: render a stored run as terminal table, Markdown or JSON."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import DbOption, ThresholdOption, console, policy_for, resolve_db
from iocompare.errors import UserError
from iocompare.report.atomic import write_text_atomically
from iocompare.report.build import build_report
from iocompare.report.json_report import render_json
from iocompare.report.markdown import render_markdown
from iocompare.report.terminal import render_terminal
from iocompare.store import Store


class Format(str, enum.Enum):
    TERMINAL = "terminal"
    MARKDOWN = "markdown"
    JSON = "json"


class ReportFormat(str, enum.Enum):
    """`report` also writes HTML (`compare` keeps Format)."""

    TERMINAL = "terminal"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"


def report(
    run: Annotated[str, typer.Argument(help="Run id, run name, or 'latest'.")] = "latest",
    format: Annotated[
        ReportFormat, typer.Option("--format", help="terminal, markdown, json or html.")
    ] = ReportFormat.TERMINAL,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help=(
                "Write to this file instead of stdout; markdown: a directory with report.md and PNG charts, "
                "unless the name ends in .md."
            ),
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline", help="Environment the others are compared against (default: host if present, else the first)."
        ),
    ] = None,
    threshold: ThresholdOption = 5.0,
    db: DbOption = None,
) -> None:
    """Show a stored run: results, verdicts against the baseline, artifact checks, stability warnings."""
    policy = policy_for(threshold)
    db_path = resolve_db(db)
    with Store.open(db_path, readonly=True) as store:
        run_id = store.resolve_run(run)
        samples = store.run_samples(run_id)
        model = build_report(store.load_run(run_id), samples, baseline=baseline, policy=policy)
    if format is ReportFormat.TERMINAL:
        if output is not None:
            raise UserError(
                "--output needs --format markdown, json or html", hint="the terminal format prints to stdout"
            )
        render_terminal(model, console())
        return
    # Imported here: matplotlib takes most of a second to import, and only charts need it.
    from iocompare.report.html import render_html
    from iocompare.report.write import write_html, write_markdown_dir

    if format is ReportFormat.HTML and output is not None:
        write_html(output, model, samples)
        return
    if format is ReportFormat.MARKDOWN and output is not None and output.suffix.lower() != ".md":
        write_markdown_dir(output, model, samples)
        return
    if format is ReportFormat.HTML:
        text = render_html(model, samples)
    else:
        text = render_markdown(model) if format is ReportFormat.MARKDOWN else render_json(model) + "\n"
    if output is None:
        print(text, end="")
    else:
        write_text_atomically(output, text)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
