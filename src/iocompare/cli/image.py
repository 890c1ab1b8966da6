"""`iocompare image build|list|rm`: the container images and guest artifacts iocompare builds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from iocompare.cli.common import console, err_console, refuse_empty
from iocompare.environments.image import ImageBuilder
from iocompare.environments.registry import IMAGE_BUILDERS as BUILDERS
from iocompare.environments.registry import image_builder as builder
from iocompare.errors import UserError
from iocompare.units import format_size

image_app = typer.Typer(help="Build, list and remove the images iocompare runs fio in.", no_args_is_help=True)

KindOption = Annotated[str | None, typer.Option("--kind", help="Only this kind (see iocompare image list).")]


def _selected(kind: str | None) -> list[ImageBuilder]:
    # an empty --kind is bad input (builder("") names the known kinds), never "every kind"
    return [builder(kind)] if kind is not None else list(BUILDERS)


@image_app.command("build")
def build(
    kind: KindOption = None, force: Annotated[bool, typer.Option("--force", help="Rebuild even when cached.")] = False
) -> None:
    """Build images (offline, from what is installed on this host); cached by content hash."""
    out, err = console(), err_console()
    for selected in _selected(kind):
        reason = selected.unavailable_reason()
        if reason is not None:
            if kind:
                raise UserError(f"cannot build {selected.kind} images here: {reason}")
            err.print(f"skipping {selected.kind}: {reason}", markup=False)
            continue
        info = selected.build(force=force, progress=lambda line: err.print(f"  {line}", markup=False))
        out.print(
            f"{info.kind}: {info.name} ({format_size(info.size_bytes)}, hash {info.content_hash[:12]})", markup=False
        )


@image_app.command("list")
def list_images(kind: KindOption = None) -> None:
    """List built images."""
    table = Table("kind", "name", "hash", "size", "built", "details")
    for selected in _selected(kind):
        if selected.unavailable_reason() is not None:
            continue
        for info in selected.list():
            built = dt.datetime.fromtimestamp(info.created_at).strftime("%Y-%m-%d %H:%M")
            details = ", ".join(f"{k}={v}" for k, v in sorted(info.details.items()))
            table.add_row(info.kind, info.name, info.content_hash[:12], format_size(info.size_bytes), built, details)
    console().print(table)


@image_app.command("rm")
def remove(
    name: Annotated[str | None, typer.Argument(help="Image name; all of the kind when omitted.")] = None,
    kind: KindOption = None,
) -> None:
    """Remove built images."""
    refuse_empty({"image name": name})  # "" would match every image
    for selected in _selected(kind):
        if selected.unavailable_reason() is not None:
            continue
        for removed in selected.remove(name):
            console().print(f"removed {selected.kind} {removed}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(image_app, name="image")
