"""`iocompare doctor`: check each environment once on this machine and say what works and what to
do about the rest (docs/doctor.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import console, err_console, refuse_empty
from iocompare.cli.run import DEFAULT_TARGET
from iocompare.doctor.checks import DEFAULT_ENVIRONMENTS, check_environment, works
from iocompare.doctor.steps import EnvironmentReport, Outcome
from iocompare.environments import registry
from iocompare.errors import ExitCode
from iocompare.report.answer import wrap

MARK = {Outcome.OK: "ok  ", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "--  "}


def render(reports: list[EnvironmentReport], width: int) -> list[str]:
    lines = []
    for report in reports:
        verdict = "works" if works(report) else "does not work here"
        if works(report) and not report.works:
            verdict = "works, under software emulation (results flagged)"
        lines.append(f"{report.environment}: {verdict}")
        for step in report.steps:
            lines += wrap(f"  {MARK[step.outcome]} {step.name}: {step.detail}", width, "         ")
            if step.fix and step.outcome is Outcome.FAILED:
                lines += wrap(f"         what to do: {step.fix}", width, "           ")
        lines.append("")
    usable = [r.environment for r in reports if works(r)]
    lines.append("usable here: " + (", ".join(usable) if usable else "none"))
    if len(usable) > 1:
        lines.append("compare them: iocompare run " + " ".join(f"--env {e}" for e in usable))
    return lines


def doctor(
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env", help="Environment to check (repeatable; default: host, podman, docker, qemu, firecracker)."
        ),
    ] = None,
    target: Annotated[
        Path | None,
        typer.Option("--target", help=f"Directory on the filesystem to test (default {DEFAULT_TARGET})."),
    ] = None,
    fio_path: Annotated[str | None, typer.Option("--fio", help="fio binary (default: fio on PATH).")] = None,
) -> int:
    """Check each environment once (engine, image, instance, KVM or TCG, Firecracker); a 1 s fio where it can."""
    refuse_empty({"--fio": fio_path})
    names = list(env or DEFAULT_ENVIRONMENTS)
    for name in names:
        registry.choose(name)  # an unknown name is bad input, before anything runs
    target_dir = Path(target or DEFAULT_TARGET).absolute()
    err = err_console()
    reports = [
        check_environment(
            name, target=target_dir, fio_path=fio_path, progress=lambda m: err.print(f"doctor: {m}", markup=False)
        )
        for name in names
    ]
    out = console()
    for line in render(reports, out.width):
        out.print(line, markup=False, highlight=False)
    # Exit 1 when an environment asked for by name does not work, or (by default) nothing works.
    failed = any(not works(r) for r in reports) if env else not any(works(r) for r in reports)
    return ExitCode.FAILURES if failed else ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
