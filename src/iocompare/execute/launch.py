"""Everything around the runner: recovery of killed runs, the target lock, space planning,
registration of created resources, and cleanup on every exit path."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from iocompare.engines.fio_binary import FioBinary
from iocompare.environments import registry
from iocompare.environments.base import Environment, RunContext, SpaceNeed
from iocompare.environments.shared import SharedWorkingSets
from iocompare.errors import UserError
from iocompare.execute.on_targets import create_on_targets, ready_all
from iocompare.execute.runner import Runner, RunObserver, RunSummary
from iocompare.execute.space import Reserve, SpacePlan, existing_ancestor, plan_space
from iocompare.spec.expand import Plan, expand
from iocompare.spec.models import Suite
from iocompare.spec.targets import TargetKind, TargetSpec
from iocompare.store import Store
from iocompare.store.records import STORED_BYTES_PER_TRIAL
from iocompare.system.identity import ProcessIdentity
from iocompare.system.resources import RunResources, recover_stale_runs
from iocompare.system.signals import terminate_as_interrupt
from iocompare.units import format_size

Notify = Callable[[str], None]
CreateRun = Callable[[Store, Suite, Plan, SpacePlan, Mapping[str, Environment]], int]  # -> the run's id


def create_environments(names: tuple[str, ...], context: RunContext) -> dict[str, Environment]:
    return {name: registry.create(name, context) for name in names}


def space_for(
    suite: Suite, environments: Mapping[str, Environment], *, db_path: Path, trials: int, reserve: Reserve
) -> SpacePlan:
    db_need = SpaceNeed(
        db_path.parent, STORED_BYTES_PER_TRIAL * trials, "results database", scales_with_working_set=False
    )
    return plan_space(
        environments,
        working_set_bytes=suite.working_set.size,
        floor_bytes=suite.working_set.min_size,
        reserve=reserve,
        extra_needs=(db_need,),
    )


def shrink(suite: Suite, plan: Plan, space: SpacePlan) -> tuple[Suite, Plan]:
    """The same suite and trial order with the working set the space plan could afford."""
    if not space.shrunk:
        return suite, plan
    data = suite.model_dump(mode="json")
    data["working_set"]["size"] = space.working_set_bytes
    smaller = Suite.model_validate(data)
    return smaller, expand(smaller, run_seed=plan.run_seed)


def reserves(environments: Mapping[str, Environment], reserve: Reserve) -> dict[str, int]:
    out = {}
    for name, environment in environments.items():
        usage = shutil.disk_usage(existing_ancestor(environment.context.target))
        out[name] = reserve.of(usage.total)
    return out


def recover_leftovers(notify: Notify) -> None:
    """Remove what killed runs left behind (their manifests name it) and mark those runs interrupted
    in the database each manifest names; cheap when there is none."""
    for stale in recover_stale_runs(notify=notify):
        removed = ", ".join(stale.removed) or "nothing left to remove"
        left = f"; left alone {', '.join(stale.left_alone)}" if stale.left_alone else ""
        notify(
            f"cleaned up after a killed iocompare run ({stale.description or stale.run_tag}, pid {stale.pid}): "
            f"{removed}{left}"
        )
        if stale.database is not None and stale.database.is_file():
            try:
                _interrupt_dead_runs(stale.database, notify)
            except UserError as exc:
                # Another command's database: its damage must not stop this command.
                notify(f"the killed run was not marked interrupted: {exc.one_line()}")


def _interrupt_dead_runs(db_path: Path, notify: Notify) -> None:
    with Store.open(db_path, create=False) as store:
        for run_id in store.interrupt_dead_runs():
            notify(
                f"run {run_id} was left running by a killed process; marked interrupted"
                f" (iocompare run --resume {run_id})"
            )


def recover(db_path: Path, notify: Notify) -> None:
    """Before a run: leftovers of killed runs, and runs of this database whose process is gone."""
    recover_leftovers(notify)
    if db_path.exists():
        _interrupt_dead_runs(db_path, notify)


def process_identity() -> dict[str, object]:
    return ProcessIdentity.current().as_settings()


@dataclass(frozen=True)
class Launch:
    """One run's execution: call `run_id_factory` once space is known, then run the trials."""

    plan: Plan
    suite: Suite
    target: Path
    db_path: Path
    fio: FioBinary
    run_tag: str
    reserve: Reserve
    description: str
    # Every target of the run (spec/targets.py); empty: `target` alone, as given.
    targets: tuple[TargetSpec, ...] = ()
    prepared_base: Path = Path("/var/tmp")  # where made targets' loop files and mount points go


def execute(
    launch: Launch,
    *,
    create_run: CreateRun,
    observer_factory: Callable[[Plan], RunObserver],
    done_trials: frozenset[int] = frozenset(),
    notify: Notify,
) -> tuple[RunSummary | None, int | None, list[str]]:
    """Run under the target lock with signal handling; returns (summary, run id, removed leftovers).

    On KeyboardInterrupt (Ctrl-C, SIGTERM) cleanup runs and the exception propagates with
    `.run_id` and `.removed` attached for the message.
    """
    resources = RunResources(launch.run_tag, description=launch.description, database=launch.db_path)
    context = RunContext(
        target=launch.target,
        run_tag=launch.run_tag,
        fio=launch.fio,
        resources=resources,
        working_sets=SharedWorkingSets(launch.suite.working_set.shared),
    )
    run_id: int | None = None
    removed: list[str] = []
    with terminate_as_interrupt():
        try:
            with contextlib.ExitStack() as locks:
                specs = launch.targets or (TargetSpec(str(launch.target), TargetKind.PATH),)
                ready = ready_all(
                    specs,
                    base=launch.prepared_base,
                    run_tag=launch.run_tag,
                    resources=resources,
                    locks=locks,
                    description=launch.description,
                )
                environments = create_on_targets(tuple(launch.suite.environments), ready, context)
                space = space_for(
                    launch.suite,
                    environments,
                    db_path=launch.db_path,
                    trials=len(launch.plan.trials),
                    reserve=launch.reserve,
                )
                refuse_if_nothing_fits(space, environments)
                with Store.open(launch.db_path) as store:
                    suite, plan = shrink(launch.suite, launch.plan, space)
                    if space.shrunk:
                        notify(
                            f"working set shrunk from {format_size(space.requested_working_set_bytes)} to "
                            f"{format_size(space.working_set_bytes)} to fit the free space"
                        )
                    for name, reason in space.refused.items():
                        notify(f"refusing environment {name}: {reason}")
                    run_id = create_run(store, suite, plan, space, environments)
                    runner = Runner(
                        plan,
                        environments,
                        store,
                        observer_factory(plan),
                        refused=space.refused,
                        done_trials=done_trials,
                        reserve_bytes=reserves(environments, launch.reserve),
                    )
                    summary = runner.run(run_id)
                    if runner.stopped_reason:
                        notify(runner.stopped_reason)
        except KeyboardInterrupt as exc:
            removed = resources.remove_all()
            exc.run_id = run_id  # type: ignore[attr-defined]
            exc.removed = removed  # type: ignore[attr-defined]
            raise
        finally:
            removed = removed or resources.remove_all()
    return summary, run_id, removed


def refuse_if_nothing_fits(space: SpacePlan, environments: Mapping[str, Environment]) -> None:
    """A run in which no environment fits would store nothing but refusals: bad input, before
    anything is written."""
    if environments and all(name in space.refused for name in environments):
        reasons = "; ".join(f"{name}: {space.refused[name]}" for name in environments)
        raise UserError(f"no environment has the space to run: {reasons}", hint="free space or lower --reserve")


def check_resumable(store: Store, run_id: int) -> None:
    stored = store.load_run(run_id)
    status = stored.info.status.value
    if status == "complete":
        raise UserError(f"run {run_id} is complete; nothing to resume")
    if status == "running":
        owner = ProcessIdentity.from_settings(stored.settings)
        if owner is not None and owner.start_time is not None and owner.is_running():
            raise UserError(f"run {run_id} is still running (pid {owner.pid})", hint="wait for it or stop it first")
