"""`iocompare run`: expand a suite, run it, store it, print the result table."""

from __future__ import annotations

import random
import shlex
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from iocompare.cli.common import DbOption, console, err_console, resolve_db
from iocompare.cli.progress import make_observer
from iocompare.engines.fio_binary import find_fio
from iocompare.environments import registry
from iocompare.environments.base import RunContext
from iocompare.environments.host import check_target
from iocompare.errors import ExitCode, UserError
from iocompare.execute.runner import Runner
from iocompare.facts import host_facts
from iocompare.report.build import build_report
from iocompare.report.plan import print_plan
from iocompare.report.terminal import render_terminal
from iocompare.spec.expand import expand
from iocompare.spec.load import load_suite, validate_suite
from iocompare.store import Store

DEFAULT_TARGET = "/var/tmp"


def _overrides(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _check_range(flag: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise UserError(f"{flag} {value} is out of range: must be from {low} to {high}")


def run(
    suite: Annotated[str, typer.Option("--suite", help="quick, standard, full, or a suite TOML file.")] = "quick",
    env: Annotated[list[str] | None, typer.Option("--env", help="Environment to run in (repeatable); see iocompare envs.")] = None,
    target: Annotated[Path | None, typer.Option("--target", help=f"Directory on the filesystem under test (default {DEFAULT_TARGET}).")] = None,
    db: DbOption = None,
    repeat: Annotated[int | None, typer.Option("--repeat", help="Trials per environment per cell.")] = None,
    runtime: Annotated[int | None, typer.Option("--runtime", help="fio runtime per trial, seconds.")] = None,
    ramp: Annotated[int | None, typer.Option("--ramp", help="fio ramp time per trial, seconds.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for this run (default: suite and time).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of trial order and fio randseeds (default: random).")] = None,
    fio_path: Annotated[str | None, typer.Option("--fio", help="fio binary to use everywhere (default: fio on PATH).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")] = False,
) -> int:
    """Run a suite in one or more environments and store the results."""
    _check_range("--repeat", repeat, 1, 100)
    _check_range("--runtime", runtime, 1, 86_400)
    _check_range("--ramp", ramp, 0, 3_600)
    loaded = load_suite(suite, _overrides(repeat=repeat, runtime_s=runtime, ramp_s=ramp, environments=env or None))
    if target is not None:
        loaded = validate_suite({**loaded.model_dump(mode="json"), "target": str(target)}, "--target")
    for environment_name in loaded.environments:
        registry.choose(environment_name)  # unknown names are bad input
    target_dir = Path(loaded.target or DEFAULT_TARGET)
    db_path = resolve_db(db)
    out = console()

    plan = expand(loaded, run_seed=seed if seed is not None else random.SystemRandom().getrandbits(32))
    if dry_run:
        print_plan(plan, out, target=str(target_dir), db=str(db_path))
        return ExitCode.OK

    fio = find_fio(fio_path)
    check_target(target_dir)
    usable = _usable_environments(loaded.environments)
    if len(usable) != len(loaded.environments):
        loaded = validate_suite({**loaded.model_dump(mode="json"), "environments": usable}, "environments")
        plan = expand(loaded, run_seed=plan.run_seed)

    run_tag = uuid.uuid4().hex[:8]
    context = RunContext(target=target_dir, run_tag=run_tag, fio=fio)
    environments = {name_: registry.create(name_, context) for name_ in loaded.environments}
    with Store.open(db_path) as store:
        run_id = store.create_run(
            name=name or f"{loaded.name}-{run_tag}",
            suite_name=loaded.name,
            suite_json=loaded.model_dump_json(),
            settings={"run_seed": plan.run_seed, "target": str(target_dir), "argv": shlex.join(sys.argv), "fio": fio.version},
            host_facts=host_facts(),
            environments=[(n, e.kind, {}) for n, e in environments.items()],
            cells=plan.cells,
        )
        observer = make_observer(plan, out)
        try:
            summary = Runner(plan, environments, store, observer).run(run_id)
        except KeyboardInterrupt:
            observer.close()
            err_console().print(f"interrupted: finished trials of run {run_id} are stored in {db_path}", markup=False)
            raise
        finally:
            observer.close()
        report = build_report(store.load_run(run_id))
    render_terminal(report, out)
    out.print(f"\nstored as run {run_id} in {db_path}", markup=False)
    out.print(f"other formats: iocompare report {run_id} --db {shlex.quote(str(db_path))} --format markdown|json", markup=False)
    if summary.failed:
        out.print(f"{summary.failed} trial(s) failed; their errors are in the report", markup=False)
        return ExitCode.FAILURES
    return ExitCode.OK


def _usable_environments(names: list[str]) -> list[str]:
    usable = []
    for environment_name in names:
        reason = registry.choose(environment_name).unavailable_reason
        if reason is None:
            usable.append(environment_name)
        else:
            err_console().print(f"skipping environment {environment_name}: {reason}", markup=False)
    if not usable:
        raise UserError("none of the requested environments can run here", hint="iocompare envs says why")
    return usable


def register(app: typer.Typer) -> None:
    app.command("run")(run)
