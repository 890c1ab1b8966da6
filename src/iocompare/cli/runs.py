"""`iocompare runs`: the stored runs, newest first."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from iocompare.cli.common import DbOption, console, resolve_db
from iocompare.store import Store


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def runs(db: DbOption = None) -> None:
    """List stored runs."""
    db_path = resolve_db(db)
    out = console()
    if not db_path.exists():
        out.print(f"no runs yet ({db_path} does not exist)", markup=False)
        return
    with Store.open(db_path, readonly=True) as store:
        infos = store.list_runs()
    table = Table(
        "id", "name", "suite", "environments", "started", "finished", "status", "trials ok", title=str(db_path)
    )
    for info in infos:
        table.add_row(
            str(info.id),
            info.name,
            info.suite_name,
            ", ".join(info.environments),
            _when(info.created_at),
            _when(info.finished_at),
            info.status.value,
            f"{info.trials_ok}/{info.trials_total}",
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("runs")(runs)
