"""`iocompare report`: render a stored run as terminal table, Markdown or JSON."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import DbOption, ThresholdOption, console, for_stdout, policy_for, refuse_empty, resolve_db
from iocompare.errors import UserError
from iocompare.report.atomic import write_text_atomically
from iocompare.report.build import build_report
from iocompare.report.json_report import render_json
from iocompare.report.markdown import render_markdown
from iocompare.report.output_path import check_output
from iocompare.report.terminal import render_plain, render_terminal
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
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="terminal: also the result table, verdicts with p-values, checks with evidence."
        ),
    ] = False,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain", help="terminal: tab-separated values (a header row, one row per cell and environment)."
        ),
    ] = False,
) -> None:
    """Show a stored run: results, verdicts against the baseline, artifact checks, stability warnings."""
    refuse_empty({"--baseline": baseline})
    policy = policy_for(threshold)
    db_path = resolve_db(db)
    if output is not None and format is not ReportFormat.TERMINAL:
        directory = format is ReportFormat.MARKDOWN and output.suffix.lower() != ".md"
        check_output(output, db_path=db_path, directory=directory)  # before anything is read or written
    with Store.open(db_path, readonly=True) as store:
        run_id = store.resolve_run(run)
        samples = store.run_samples(run_id)
        stored = store.load_run(run_id)
        model = build_report(stored, samples, baseline=baseline, policy=policy)
        raw_outputs: dict[int, str] = {}
        if format in (ReportFormat.HTML, ReportFormat.MARKDOWN):  # the latency distributions need fio's bins
            for trial in stored.trials:
                text = store.raw_output(trial.id) if trial.status.value == "ok" else None
                if text:
                    raw_outputs[trial.id] = text
    if format is ReportFormat.TERMINAL:
        if output is not None:
            raise UserError(
                "--output needs --format markdown, json or html", hint="the terminal format prints to stdout"
            )
        if plain:
            print(for_stdout(render_plain(model)), end="")
        else:
            render_terminal(model, console(), verbose=verbose)
        return
    if plain or verbose:
        raise UserError(f"--plain and --verbose are for --format terminal, not {format.value}")
    # Imported here: matplotlib takes most of a second to import, and only charts need it.
    from iocompare.report.html import render_html
    from iocompare.report.write import write_html, write_markdown_dir

    if format is ReportFormat.HTML and output is not None:
        write_html(output, model, samples, raw_outputs)
        return
    if format is ReportFormat.MARKDOWN and output is not None and output.suffix.lower() != ".md":
        write_markdown_dir(output, model, samples, raw_outputs)
        return
    if format is ReportFormat.HTML:
        text = render_html(model, samples, raw_outputs)
    else:
        text = render_markdown(model) if format is ReportFormat.MARKDOWN else render_json(model) + "\n"
    if output is None:
        print(for_stdout(text), end="")
    else:
        write_text_atomically(output, text)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
