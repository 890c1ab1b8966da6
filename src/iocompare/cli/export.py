"""`iocompare export RUN --format csv|json`: a stored run's trials and per-cell summaries as flat
tables (columns: docs/export.md). CSV holds one table (`--table trials|summaries`); JSON holds both."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import (
    DbOption,
    ThresholdOption,
    for_stdout,
    policy_for,
    refuse_empty,
    resolve_db,
)
from iocompare.errors import UserError
from iocompare.report.atomic import write_text_atomically
from iocompare.report.build import build_report
from iocompare.report.export import (
    SUMMARY_COLUMNS,
    TRIAL_COLUMNS,
    summary_rows,
    to_csv,
    to_json,
    trial_rows,
)
from iocompare.report.output_path import check_output
from iocompare.store import Store


class ExportFormat(str, enum.Enum):
    CSV = "csv"
    JSON = "json"


class Table(str, enum.Enum):
    TRIALS = "trials"
    SUMMARIES = "summaries"


def export(
    run: Annotated[str, typer.Argument(help="Run id, run name, or 'latest'.")] = "latest",
    format: Annotated[
        ExportFormat, typer.Option("--format", help="csv (one table) or json (both tables).")
    ] = ExportFormat.CSV,
    table: Annotated[
        Table | None,
        typer.Option(
            "--table", help="csv only: trials (default; one row per trial) or summaries (one per cell and environment)."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of stdout.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Environment the summaries' verdicts compare against (default: host if present, else the first).",
        ),
    ] = None,
    threshold: ThresholdOption = 5.0,
    db: DbOption = None,
) -> None:
    """Export a stored run's trials and summaries as CSV or JSON."""
    refuse_empty({"--baseline": baseline})
    policy = policy_for(threshold)
    db_path = resolve_db(db)
    if output is not None:
        check_output(output, db_path=db_path)  # before anything is read or written
    with Store.open(db_path, readonly=True) as store:
        run_id = store.resolve_run(run)
        samples = store.run_samples(run_id)
        model = build_report(store.load_run(run_id), samples, baseline=baseline, policy=policy)
    if format is ExportFormat.JSON:
        if table is not None:
            raise UserError("--table is for --format csv", hint="the JSON export holds both tables")
        text = to_json(model, samples)
    elif table is not Table.SUMMARIES:
        text = to_csv(trial_rows(model, samples), TRIAL_COLUMNS)
    else:
        text = to_csv(summary_rows(model, samples), SUMMARY_COLUMNS)
    if output is None:
        print(for_stdout(text), end="")
    else:
        write_text_atomically(output, text)


def register(app: typer.Typer) -> None:
    app.command("export")(export)
