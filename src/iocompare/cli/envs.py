"""`iocompare envs`: every environment with "available" or the reason why not."""

from __future__ import annotations

import typer
from rich.table import Table

from iocompare.cli.common import console
from iocompare.environments.registry import all_choices


def envs() -> None:
    """List environment kinds and variants, and whether each can run here."""
    table = Table("name", "status", "description")
    for choice in all_choices():
        status = "available" if choice.unavailable_reason is None else f"unavailable: {choice.unavailable_reason}"
        table.add_row(choice.name, status, choice.description)
    console().print(table)


def register(app: typer.Typer) -> None:
    app.command("envs")(envs)
