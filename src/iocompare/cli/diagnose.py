"""`iocompare diagnose RUN CELL`: the cross-over diagnosis of a faster-than-host finding."""

from __future__ import annotations

import glob
import random
import shlex
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from iocompare.analysis.artifacts import CheckId
from iocompare.analysis.compare import run_baseline
from iocompare.analysis.crossover import CrossoverDesign, values_of
from iocompare.analysis.crossover import diagnose as diagnose_values
from iocompare.analysis.runchecks import check_run
from iocompare.cli.common import DbOption, ThresholdOption, console, notifier, policy_for, resolve_db
from iocompare.cli.progress import make_observer
from iocompare.engines.fio_binary import find_fio
from iocompare.environments.base import Environment
from iocompare.environments.container.labels import remove_dead_leftovers
from iocompare.errors import ExitCode, UserError
from iocompare.execute import crossover, launch
from iocompare.execute.crossover import CrossoverLaunch, CrossoverUnreachable, FileView
from iocompare.execute.space import Reserve
from iocompare.facts.probe import host_facts
from iocompare.model import Cell, Sample
from iocompare.report.crossover_text import diagnosis_lines, not_evaluated_line
from iocompare.spec.expand import Plan
from iocompare.spec.filters import Filters, apply_filters
from iocompare.spec.load import validate_suite
from iocompare.spec.models import Suite
from iocompare.store import Store
from iocompare.store.records import StoredRun
from iocompare.system.signals import Terminated

DEFAULT_ROUNDS = 5  # 5 trials per combination, 20 in all: the run's own default trial count
MIN_ROUNDS, MAX_ROUNDS = 2, 50  # two per combination is the least a CI needs


@dataclass(frozen=True)
class Subject:
    """What is diagnosed: a stored run's cell, its baseline and the candidate environment."""

    run: StoredRun
    cell: Cell
    baseline: str
    candidate: str


def _cell_of(run: StoredRun, label: str) -> Cell:
    for cell in run.cells:
        if cell.key == label:
            return cell
    known = ", ".join(cell.key for cell in run.cells)
    raise UserError(f"cell {label!r} is not in run {run.info.id}", hint=f"its cells: {known}")


def choose_subject(run: StoredRun, fired: list[str], label: str, env: str | None, *, force: bool) -> Subject:
    """The cell and candidate to diagnose; bad input (one line naming the value) otherwise.
    `fired`: the environments whose faster-than-host check fired for that cell."""
    if run.settings.get("imported") is True:
        raise UserError(f"run {run.info.id} is imported: its environments cannot be re-run here")
    cell = _cell_of(run, label)
    baseline = run_baseline(run)
    run_ref = f"run {run.info.id}"
    if env is not None:
        if env not in run.environments:
            raise UserError(
                f"--env {env!r} is not an environment of {run_ref}",
                hint=f"its environments: {', '.join(run.environments)}",
            )
        if env == baseline:
            raise UserError(f"--env {env} is the baseline of {run_ref}", hint="name the environment compared with it")
        if env not in fired and not force:
            raise UserError(
                f"faster-than-host did not fire for {label} in {env} of {run_ref}: nothing to diagnose",
                hint="--force runs the cross-over anyway",
            )
        return Subject(run, cell, baseline, env)
    if len(fired) > 1:
        raise UserError(f"faster-than-host fired for {label} in {', '.join(fired)} of {run_ref}: pick one with --env")
    if fired:
        return Subject(run, cell, baseline, fired[0])
    if not force:
        raise UserError(
            f"faster-than-host did not fire for {label} in {run_ref}: nothing to diagnose",
            hint="--force (and --env) runs the cross-over anyway",
        )
    others = [name for name in run.environments if name != baseline]
    if len(others) != 1:
        raise UserError(
            f"--force on {run_ref} needs --env: it has {len(others)} environments besides the baseline {baseline}",
            hint=f"its environments: {', '.join(run.environments)}",
        )
    return Subject(run, cell, baseline, others[0])


def fired_for(run: StoredRun, samples: Mapping[int, Sequence[Sample]], label: str) -> list[str]:
    checks = check_run(run, samples)
    return [
        env
        for (key, env), results in checks.items()
        if key == label and any(r.check is CheckId.FASTER_THAN_HOST and r.fired for r in results)
    ]


def _narrowed_suite(subject: Subject, design: CrossoverDesign) -> Suite:
    """The original suite, narrowed to the cell, with the four combinations as its environments."""
    try:
        suite = Suite.model_validate_json(subject.run.suite_json)
    except ValidationError:
        raise UserError(f"run {subject.run.info.id}'s stored suite is not valid for this iocompare") from None
    cell = subject.cell
    only = Filters(workloads=(glob.escape(cell.workload),), block_sizes=(cell.block_size_bytes,))
    try:
        narrowed = apply_filters(suite, only)
    except UserError:
        raise UserError(f"run {subject.run.info.id}'s stored suite has no cell {cell.key}") from None
    return validate_suite(
        {
            **narrowed.model_dump(mode="json"),
            "environments": [c.name for c in design.conditions()],
            "repeat": design.rounds,
            "max_repeat": design.rounds,
            "references": False,
        },
        "the diagnosis suite",
    )


def _free_name(store: Store, base: str) -> str:
    names = {info.name for info in store.list_runs()}
    if base not in names:
        return base
    return next(f"{base}-{n}" for n in range(2, len(names) + 3) if f"{base}-{n}" not in names)


def diagnose(
    run: Annotated[str, typer.Argument(help="Run id, run name, or 'latest'.")],
    cell: Annotated[str, typer.Argument(help="A cell as the report prints it, e.g. rand-read@1m.")],
    db: DbOption = None,
    rounds: Annotated[
        int,
        typer.Option(
            "--rounds", help=f"Rounds; each reads both files in both environments (default {DEFAULT_ROUNDS})."
        ),
    ] = DEFAULT_ROUNDS,
    env: Annotated[
        str | None,
        typer.Option("--env", help="The environment to diagnose when faster-than-host fired for several."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Run the cross-over even where faster-than-host did not fire.")
    ] = False,
    threshold: ThresholdOption = 5.0,
) -> int:
    """Re-run a cell as a cross-over: does a faster-than-host difference follow the file or the environment?"""
    if not MIN_ROUNDS <= rounds <= MAX_ROUNDS:
        raise UserError(f"--rounds {rounds} is out of range: must be from {MIN_ROUNDS} to {MAX_ROUNDS}")
    policy = policy_for(threshold)
    db_path = resolve_db(db)
    with Store.open(db_path, create=False, readonly=True) as store:
        stored = store.load_run(store.resolve_run(run))
        samples = store.run_samples(stored.info.id)
        name = _free_name(store, f"diagnose-{stored.info.name}-{cell}")
    fired = fired_for(stored, samples, cell)
    subject = choose_subject(stored, fired, cell, env, force=force)
    design = CrossoverDesign(subject.cell, subject.baseline, subject.candidate, rounds)
    suite = _narrowed_suite(subject, design)
    fio = find_fio(None)
    if fio.version != stored.settings.get("fio"):
        raise UserError(
            f"run {stored.info.id} used {stored.settings.get('fio')}, this fio is {fio.version}",
            hint="diagnose with the same fio on PATH",
        )
    run_seed = random.SystemRandom().getrandbits(32)
    plan = Plan(suite, (subject.cell,), tuple(c.name for c in design.conditions()), design.trials(run_seed), run_seed)
    target = Path(stored.settings["target"])
    notify = notifier()
    if subject.candidate not in fired:
        notify(f"faster-than-host did not fire for {cell} in {subject.candidate}; --force: diagnosing anyway")
    launch.recover(db_path, notify)
    remove_dead_leftovers(notify)

    def create_run(store: Store, views: Mapping[str, Environment]) -> int:
        kinds = {n: v.inner.kind if isinstance(v, FileView) else v.kind for n, v in views.items()}
        return store.create_run(
            name=name,
            suite_name=suite.name,
            suite_json=suite.model_dump_json(),
            settings={
                "run_seed": run_seed,
                "target": str(target),
                "argv": shlex.join(sys.argv),
                "fio": fio.version,
                "diagnosis_of": {
                    "run_id": stored.info.id,
                    "run_name": stored.info.name,
                    "cell": cell,
                    "baseline": design.baseline,
                    "candidate": design.candidate,
                    "rounds": rounds,
                },
                **launch.process_identity(),
            },
            host_facts=host_facts(),
            environments=[(n, kinds[n], {}) for n in views],
            cells=[subject.cell],
        )

    job = CrossoverLaunch(
        design, suite, plan, target, db_path, fio, uuid.uuid4().hex[:8], Reserve(), f"diagnose {name}"
    )
    out = console()
    observer = make_observer(plan, out)
    try:
        summary, run_id, _removed = crossover.execute(job, create_run=create_run, observer=observer, notify=notify)
    except CrossoverUnreachable as exc:
        out.print(not_evaluated_line(str(exc)), markup=False)
        return ExitCode.FAILURES
    except KeyboardInterrupt as exc:
        observer.close()
        removed = getattr(exc, "removed", [])
        notify("removed: " + (", ".join(removed) if removed else "nothing was left to remove"))
        if isinstance(exc, Terminated):
            notify(f"iocompare: terminated by {exc}")
            return ExitCode.TERMINATED
        notify("iocompare: interrupted")
        return ExitCode.INTERRUPTED
    finally:
        observer.close()
    with Store.open(db_path, readonly=True) as store:
        diagnosis_run = store.load_run(run_id)
    result = diagnose_values(values_of(diagnosis_run, design), policy)
    for line in diagnosis_lines(result, cell=cell, baseline=design.baseline, candidate=design.candidate, rounds=rounds):
        out.print(line, markup=False)
    out.print(f"\nstored as run {run_id} ({name}) in {db_path}", markup=False)
    out.print(f"more: iocompare report {run_id} --db {shlex.quote(str(db_path))} --verbose", markup=False)
    if summary.failed:
        out.print(f"{summary.failed} trial(s) failed; their errors are in the report", markup=False)
        return ExitCode.FAILURES
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
