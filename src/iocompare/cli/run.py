"""`iocompare run`: expand a suite, run it, store it, print the result table."""

from __future__ import annotations

import random
import shlex
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from iocompare.cli.common import DbOption, console, err_console, notifier, refuse_empty, resolve_db
from iocompare.cli.progress import BarObserver, LineObserver, make_observer
from iocompare.cli.run_targets import TargetChoice, all_at_once, choose_targets, with_target_flags
from iocompare.engines.fio_binary import FioBinary, find_fio
from iocompare.environments import registry
from iocompare.environments.base import Environment, RunContext
from iocompare.environments.container.labels import remove_dead_leftovers
from iocompare.environments.host import check_target
from iocompare.environments.shared import SharedWorkingSets
from iocompare.errors import ExitCode, UserError
from iocompare.execute import launch
from iocompare.execute.applicability import preview
from iocompare.execute.on_targets import create_on_targets
from iocompare.execute.prepared import ReadyTarget
from iocompare.execute.space import Reserve, SpacePlan, describe
from iocompare.facts.probe import host_facts
from iocompare.model import TrialStatus
from iocompare.report.build import build_report
from iocompare.report.plan import duration_line, print_plan
from iocompare.report.terminal import render_terminal
from iocompare.spec.expand import Plan, expand
from iocompare.spec.filters import apply_filters, parse_filters
from iocompare.spec.filters import describe as describe_filters
from iocompare.spec.load import load_suite, validate_suite
from iocompare.spec.models import Suite
from iocompare.spec.references import with_references
from iocompare.spec.targets import parse_targets
from iocompare.store import Store
from iocompare.store.db import check_run_name
from iocompare.system.resources import RunResources
from iocompare.system.signals import Terminated
from iocompare.units import parse_size

DEFAULT_TARGET = "/var/tmp"


def _overrides(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _check_range(flag: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise UserError(f"{flag} {value} is out of range: must be from {low} to {high}")


def _parse_reserve(text: str | None) -> Reserve:
    if text is None:
        return Reserve()
    try:
        if text.endswith("%"):
            fraction = float(text[:-1]) / 100
        else:
            return Reserve(min_bytes=parse_size(text), fraction=0.0)
    except ValueError:
        raise UserError(
            f"--reserve {text!r} is not a size or a percentage", hint="e.g. --reserve 2g or --reserve 10%"
        ) from None
    if not 0 <= fraction < 1:  # also NaN
        raise UserError(f"--reserve {text!r} is out of range: a percentage from 0 to below 100%")
    return Reserve(min_bytes=0, fraction=fraction)


def _check_name_free(name: str, db_path: Path) -> None:
    check_run_name(name)
    if db_path.exists():
        with Store.open(db_path, readonly=True) as store:
            store.check_name_free(name)


def _available_only(suite: Suite, skip_unavailable: bool) -> Suite:
    """The suite with the environments the user asked for, each of which can run here. One that
    cannot is bad input (before anything is written), unless --skip-unavailable says to leave it out."""
    unavailable = {}
    for environment_name in suite.environments:
        reason = registry.choose(environment_name).unavailable_reason  # unknown names are bad input too
        if reason is not None:
            unavailable[environment_name] = reason
    if not unavailable:
        return suite
    if not skip_unavailable:
        name, reason = next(iter(unavailable.items()))
        raise UserError(
            f"environment {name} cannot run here: {reason}",
            hint="--skip-unavailable runs the others; iocompare envs lists what can run",
        )
    usable = [name for name in suite.environments if name not in unavailable]
    if not usable:
        raise UserError(
            "none of the requested environments can run here: "
            + "; ".join(f"{name}: {reason}" for name, reason in unavailable.items()),
            hint="iocompare envs lists what can run",
        )
    for name, reason in unavailable.items():
        err_console().print(f"skipping environment {name}: {reason}", markup=False)
    return validate_suite({**suite.model_dump(mode="json"), "environments": usable}, "--skip-unavailable")


def repeat_counts(suite: Suite, repeat: int | None, max_repeat: int | None) -> dict[str, int]:
    """The trial counts `--repeat`/`--max-repeat` ask for. A suite with a fixed count (max_repeat
    = repeat, like quick) stays fixed: `--repeat 2` means two trials, not two to five. An adaptive
    suite keeps its cap unless --max-repeat is given (the plan says so)."""
    low = repeat if repeat is not None else suite.repeat
    if max_repeat is not None:
        return {"repeat": low, "max_repeat": max_repeat}
    fixed = suite.max_repeat == suite.repeat
    return {"repeat": low, "max_repeat": low if fixed else max(low, suite.max_repeat)}


def _count_notes(suite: Suite, repeat: int | None, max_repeat: int | None) -> list[str]:
    """Says what --repeat did to the cap, so a plan is never read as fixed when it is not."""
    if repeat is None or max_repeat is not None:
        return []
    if suite.max_repeat == suite.repeat:
        return [f"--repeat {repeat}: {repeat} trial(s) per cell and environment, fixed (the suite has a fixed count)"]
    return [
        f"--repeat {repeat}: at least {repeat} trial(s), and up to the suite's max_repeat {suite.max_repeat} for "
        f"undecided cells (--max-repeat {repeat} for exactly {repeat})"
    ]


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


def run(
    suite: Annotated[
        str | None, typer.Option("--suite", help="quick, standard, full, or a suite TOML file (default quick).")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Environment to run in (repeatable); see iocompare envs.")
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option(
            "--target",
            help=f"Directory on the filesystem under test (default {DEFAULT_TARGET}); repeatable: every environment "
            "on every target. Or a filesystem the run makes: mkfs:FS:DEVICE, loop:FS:SIZE (docs/targets-and-hosts.md).",
        ),
    ] = None,
    at_once: Annotated[
        bool,
        typer.Option(
            "--all-at-once", help="Run each cell on every --env remote:HOST simultaneously (fio multi-client)."
        ),
    ] = False,
    baseline_target: Annotated[
        str | None,
        typer.Option("--baseline-target", help="Compare each environment against itself on this target."),
    ] = None,
    db: DbOption = None,
    repeat: Annotated[
        int | None, typer.Option("--repeat", help="Trials per environment per cell, at least (default 5).")
    ] = None,
    max_repeat: Annotated[
        int | None,
        typer.Option(
            "--max-repeat", help="Adaptive cap on trials per cell (default 20; equal to --repeat for a fixed count)."
        ),
    ] = None,
    runtime: Annotated[int | None, typer.Option("--runtime", help="fio runtime per trial, seconds.")] = None,
    ramp: Annotated[int | None, typer.Option("--ramp", help="fio ramp time per trial, seconds.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for this run (default: suite and a tag).")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of trial order and fio randseeds (default: random).")
    ] = None,
    fio_path: Annotated[
        str | None, typer.Option("--fio", help="fio binary to use everywhere (default: fio on PATH).")
    ] = None,
    reserve: Annotated[
        str | None,
        typer.Option(
            "--reserve", help="Free space to keep: a size (2g) or a percentage (10%); default max(1 GiB, 5 %)."
        ),
    ] = None,
    allow_destroy: Annotated[
        bool, typer.Option("--allow-destroy", help="Allow a block device as --target (its contents are destroyed).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="With --allow-destroy: even a device that is mounted, partitioned or holds a filesystem."
        ),
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Continue an interrupted run (id or name); other options are taken from it."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and write nothing.")] = False,
    skip_unavailable: Annotated[
        bool,
        typer.Option(
            "--skip-unavailable", help="Leave out a requested environment that cannot run here (default: refuse)."
        ),
    ] = False,
    workload: Annotated[
        list[str] | None,
        typer.Option("--workload", help="Only workloads whose name matches this glob (repeatable), e.g. 'rand-*'."),
    ] = None,
    block_size: Annotated[
        list[str] | None, typer.Option("--block-size", help="Only these block sizes (repeatable), e.g. 4k.")
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option("--pattern", help="Only workloads of this pattern (repeatable), e.g. rand-read."),
    ] = None,
) -> int:
    """Run a suite in one or more environments and store the results."""
    refuse_empty({"--suite": suite, "--fio": fio_path, "--reserve": reserve, "--resume": resume})
    repeated = {"--env": env, "--workload": workload, "--block-size": block_size, "--pattern": pattern}
    for option, values in repeated.items():
        for value in values or ():
            refuse_empty({option: value})
    _check_range("--repeat", repeat, 1, 100)
    _check_range("--max-repeat", max_repeat, 1, 100)
    _check_range("--runtime", runtime, 1, 86_400)
    _check_range("--ramp", ramp, 0, 3_600)
    space_reserve = _parse_reserve(reserve)
    db_path = resolve_db(db)
    if resume is not None:
        _refuse_beside_resume(
            {
                "--suite": suite,
                "--env": env or None,
                "--target": target or None,
                "--baseline-target": baseline_target,
                "--all-at-once": at_once or None,
                "--repeat": repeat,
                "--max-repeat": max_repeat,
                "--runtime": runtime,
                "--ramp": ramp,
                "--name": name,
                "--seed": seed,
                "--allow-destroy": allow_destroy or None,
                "--force": force or None,
                "--dry-run": dry_run or None,
                "--skip-unavailable": skip_unavailable or None,
                "--workload": workload or None,
                "--block-size": block_size or None,
                "--pattern": pattern or None,
            }
        )
        return _resume(resume, db_path, fio_path, space_reserve)

    filters = parse_filters(workload or (), block_size or (), pattern or ())
    loaded = load_suite(suite or "quick", _overrides(runtime_s=runtime, ramp_s=ramp, environments=env or None))
    loaded = apply_filters(loaded, filters)
    if repeat is not None or max_repeat is not None:
        loaded = validate_suite(
            {**loaded.model_dump(mode="json"), **repeat_counts(loaded, repeat, max_repeat)}, "--repeat/--max-repeat"
        )
    loaded = with_target_flags(loaded, target)
    if at_once:
        loaded = all_at_once(loaded)
    if name is not None:
        _check_name_free(name, db_path)  # the dry run too: it says whether the run would start
    loaded = _available_only(loaded, skip_unavailable)
    count_notes = _count_notes(loaded, repeat, max_repeat)
    if filters.active:
        count_notes.insert(
            0, f"filtered with {describe_filters(filters)}: {len(loaded.describe_cells())} cell(s) remain"
        )
    loaded, reference_notes = with_references(loaded)
    # Absolute paths: fio runs with its own working directory, so a relative path would point elsewhere.
    targets = choose_targets(
        loaded,
        DEFAULT_TARGET,
        baseline_target=baseline_target,
        allow_destroy=allow_destroy,
        force=force,
        check_paths=not dry_run,
    )
    target_dir = targets.primary
    plan = expand(loaded, run_seed=seed if seed is not None else random.SystemRandom().getrandbits(32))
    preflight = list(targets.preflight)
    if dry_run:
        for line in preflight + reference_notes:
            console().print(line, markup=False)
        return _dry_run(loaded, plan, targets, db_path, fio_path, space_reserve, tuple(count_notes))

    fio = find_fio(fio_path)
    usable = _usable_environments(loaded.environments)
    if len(usable) != len(loaded.environments):
        loaded = validate_suite({**loaded.model_dump(mode="json"), "environments": usable}, "environments")
        plan = expand(loaded, run_seed=plan.run_seed)
    run_tag = uuid.uuid4().hex[:8]
    run_name = name or f"{loaded.name}-{run_tag}"
    notify = notifier()
    for line in preflight + reference_notes:
        notify(line)
    launch.recover(db_path, notify)
    remove_dead_leftovers(notify)  # iocompare-* containers and volumes of dead runs (by their labels)

    def create_run(
        store: Store, final_suite: Suite, final_plan: Plan, space: SpacePlan, environments: Mapping[str, Environment]
    ) -> int:
        # Said once the run is sure to start (space planned, database open), from the final plan.
        for line in count_notes:
            notify(line)
        shape = f"{len(final_plan.cells)} cells x {len(final_plan.environments)} environment(s)"
        notify(f"{shape}: {duration_line(final_plan)}")
        return store.create_run(
            name=run_name,
            suite_name=final_suite.name,
            suite_json=final_suite.model_dump_json(),
            settings={
                "run_seed": final_plan.run_seed,
                "target": str(target_dir),
                "targets": targets.texts,
                "baseline_target": baseline_target,
                "argv": shlex.join(sys.argv),
                "overrides": _overrides(
                    repeat=repeat,
                    max_repeat=max_repeat,
                    runtime_s=runtime,
                    ramp_s=ramp,
                    environments=env or None,
                    target=", ".join(target) if target else None,
                    filters=describe_filters(filters) or None,
                ),
                "fio": fio.version,
                "working_set_requested_bytes": space.requested_working_set_bytes,
                **launch.process_identity(),
            },
            host_facts=host_facts(),
            environments=[(n, e.kind, {}) for n, e in environments.items()],
            cells=final_plan.cells,
        )

    job = launch.Launch(
        plan, loaded, target_dir, db_path, fio, run_tag, space_reserve, f"run {run_name}", targets=targets.specs
    )
    return _execute_and_report(job, create_run, frozenset(), notify)


def _refuse_beside_resume(options: dict[str, object]) -> None:
    """A resumed run keeps its stored suite, target and seed; an option that would change them is
    refused rather than silently ignored."""
    given = [flag for flag, value in options.items() if value is not None]
    if given:
        raise UserError(
            f"--resume continues a stored run with its own settings; {', '.join(given)} cannot be given with it",
            hint="leave them out (--db, --fio and --reserve may be given)",
        )


def _resume(ref: str, db_path: Path, fio_path: str | None, space_reserve: Reserve) -> int:
    with Store.open(db_path, create=False) as store:
        run_id = store.resolve_run(ref)
        launch.check_resumable(store, run_id)
        stored = store.load_run(run_id)
    try:
        suite = Suite.model_validate_json(stored.suite_json)
    except ValidationError:
        raise UserError(f"run {run_id} cannot be resumed: its stored suite is not valid for this iocompare") from None
    plan = expand(suite, run_seed=int(stored.settings["run_seed"]))
    if tuple(plan.cells) != tuple(stored.cells):
        raise UserError(f"run {run_id} cannot be resumed: its cells do not match its suite")
    done = frozenset(t.trial.index for t in stored.trials)
    target_dir = Path(stored.settings["target"])
    specs = parse_targets(stored.settings.get("targets") or [str(target_dir)])
    fio = find_fio(fio_path)
    if fio.version != stored.settings.get("fio"):
        raise UserError(
            f"run {run_id} used {stored.settings.get('fio')}, this fio is {fio.version}",
            hint="resume with the same fio (--fio PATH)",
        )
    for spec in specs:
        if not spec.prepared:
            check_target(Path(spec.text).absolute())
    notify = notifier()
    launch.recover(db_path, notify)

    def reopen(
        store: Store, final_suite: Suite, final_plan: Plan, space: SpacePlan, environments: Mapping[str, Environment]
    ) -> int:
        if space.shrunk:
            raise UserError(
                f"not enough free space to resume run {run_id} with its working set of {suite.working_set.size} bytes"
            )
        store.reopen_run(run_id)
        return run_id

    notify(f"resuming run {run_id}: {len(done)} of {len(plan.trials)} trials already stored")
    job = launch.Launch(
        plan,
        suite,
        target_dir,
        db_path,
        fio,
        uuid.uuid4().hex[:8],
        space_reserve,
        f"run {stored.info.name} (resumed)",
        targets=specs,
    )
    return _execute_and_report(job, reopen, done, notify)


def _execute_and_report(
    job: launch.Launch, create_run: launch.CreateRun, done: frozenset[int], notify: launch.Notify
) -> int:
    out = console()
    observers: list[LineObserver | BarObserver] = []

    def observer_factory(plan: Plan) -> LineObserver | BarObserver:
        observer = make_observer(plan, out, skip=done)
        observers.append(observer)
        return observer

    try:
        summary, run_id, _removed = launch.execute(
            job, create_run=create_run, observer_factory=observer_factory, done_trials=done, notify=notify
        )
    except KeyboardInterrupt as exc:
        for observer in observers:
            observer.close()
        run_id = getattr(exc, "run_id", None)
        removed = getattr(exc, "removed", [])
        if run_id is not None:
            notify(
                f"interrupted: finished trials of run {run_id} are kept in {job.db_path}; continue with: "
                f"iocompare run --resume {run_id} --db {shlex.quote(str(job.db_path))}"
            )
        notify("removed: " + (", ".join(removed) if removed else "nothing was left to remove"))
        # Returned, not raised: Typer turns every KeyboardInterrupt into exit code 130, which
        # would hide SIGTERM's 143.
        if isinstance(exc, Terminated):
            notify(f"iocompare: terminated by {exc}")
            return ExitCode.TERMINATED
        notify("iocompare: interrupted")
        return ExitCode.INTERRUPTED
    finally:
        for observer in observers:
            observer.close()
    assert summary is not None and run_id is not None  # execute returned: the run was created and ran
    with Store.open(job.db_path, readonly=True) as store:
        stored = store.load_run(run_id)
        report = build_report(stored, store.run_samples(run_id))
    render_terminal(report, out)
    out.print(f"\nstored as run {run_id} in {job.db_path}", markup=False)
    out.print(
        f"more: iocompare report {run_id} --db {shlex.quote(str(job.db_path))} --verbose "
        "(or --format markdown|html|json --output FILE, or --plain)",
        markup=False,
    )
    if summary.failed:
        out.print(f"{summary.failed} trial(s) failed; their errors are in the report", markup=False)
        return ExitCode.FAILURES
    if not any(t.status in (TrialStatus.OK, TrialStatus.FAILED) for t in stored.trials):
        out.print("no trial was measured: every trial was refused or not applicable (reasons above)", markup=False)
        return ExitCode.FAILURES
    return ExitCode.OK


def _dry_run(
    suite: Suite,
    plan: Plan,
    targets: TargetChoice,
    db_path: Path,
    fio_path: str | None,
    space_reserve: Reserve,
    notes: tuple[str, ...] = (),
) -> int:
    out = console()
    print_plan(plan, out, target=", ".join(targets.texts), db=str(db_path), notes=notes)
    try:
        fio = find_fio(fio_path)
    except UserError:
        fio = FioBinary(fio_path or "fio", "not installed")
    context = RunContext(
        target=targets.primary,
        run_tag="dry-run",
        fio=fio,
        resources=RunResources("dry-run", persist=False),
        working_sets=SharedWorkingSets(suite.working_set.shared),
    )
    usable = [n for n in suite.environments if registry.choose(n).unavailable_reason is None]
    environments = create_on_targets(
        usable, [ReadyTarget(spec, targets.path_of(spec)) for spec in targets.specs], context
    )
    space = launch.space_for(suite, environments, db_path=db_path, trials=len(plan.trials), reserve=space_reserve)
    out.print("space plan per filesystem:", markup=False)
    for line in describe(space):
        out.print(f"  {line}", markup=False)
    final_suite, final_plan = launch.shrink(suite, plan, space)
    active = {name: e for name, e in environments.items() if name not in space.refused}
    working_set = final_suite.working_set
    verdicts = preview(final_plan.cells, active, cache_multiple=working_set.cache_multiple, policy=working_set.policy)
    if verdicts:
        out.print("cells that will not be measured as planned:", markup=False)
        for line in verdicts:
            out.print(f"  {line}", markup=False)
    return ExitCode.OK


def register(app: typer.Typer) -> None:
    app.command("run")(run)
