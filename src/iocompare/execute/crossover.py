"""Running the cross-over diagnosis: two environments, two working-set files, each reading both.

The run's environments share one working-set file where they can (environments/shared.py), so
to tell placement (and a lower cache) from the environment the diagnosis makes two files on
purpose, as `host:twin` does: the baseline's, laid out first, and a second one for the
candidate. Each environment reads each file in every round; the order alternates (even rounds
baseline, candidate, baseline, candidate; odd rounds the reverse, AB/BA) with the file switching
too, so drift and position in the round fall on every combination alike. The runner
(execute/runner.py) does the rest as for any run: one fresh instance per trial, the same settle
time before every fio, one transaction per trial. analysis/crossover.py reads the result.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from iocompare.analysis.crossover import CrossoverDesign
from iocompare.engines.fio_binary import FioBinary
from iocompare.environments import registry
from iocompare.environments.base import CacheLayer, Environment, Instance, RunContext
from iocompare.environments.host import check_target, lay_out_on_host
from iocompare.environments.shared import SharedWorkingSets, working_set_name
from iocompare.errors import UserError
from iocompare.execute.runner import LAYOUT_MIN_BPS, TIMEOUT_SLACK_S, Runner, RunObserver, RunSummary
from iocompare.execute.space import Reserve, existing_ancestor
from iocompare.spec.expand import Plan
from iocompare.spec.models import Suite
from iocompare.store import Store
from iocompare.system.lock import TargetLock
from iocompare.system.resources import RunResources
from iocompare.system.signals import terminate_as_interrupt
from iocompare.units import format_size

CROSSOVER_DIRECTORY = "crossover"


class CrossoverUnreachable(Exception):
    """An environment of the design cannot read a host file: the diagnosis is not evaluated."""


class FileView(Environment):
    """An environment of the run reading one given host file: what the runner sees as one
    "environment" of a diagnosis run. Set-up and teardown belong to the real environment (entered
    once by `execute`, whatever number of views it has); everything else is delegated."""

    kind = "crossover"  # the stored kind is the real environment's (`inner.kind`)
    description = "an environment of the run reading a given working-set file"

    def __init__(self, name: str, inner: Environment, file: Path, owner: str) -> None:
        super().__init__(name, inner.context)
        self.inner = inner
        self.file = file
        self.owner = owner

    def _select(self) -> Environment:
        self.inner.read_host_file(self.file)
        return self.inner

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def setup(self) -> None:
        return None

    def teardown(self) -> None:
        return None

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        self._select().ensure_working_set(size_bytes, timeout_s=timeout_s)

    def working_set_path(self, size_bytes: int) -> str:
        return self._select().working_set_path(size_bytes)

    def working_set_facts(self, size_bytes: int) -> Mapping[str, str]:
        return {
            **self._select().working_set_facts(size_bytes),
            "crossover_environment": self.inner.name,
            "crossover_file_of": self.owner,
        }

    def instance(self) -> Instance:
        return self._select().instance()

    def facts(self) -> Mapping[str, str]:
        return self._select().facts()

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        return self.inner.cache_layers(direct)

    @property
    def host_storage_path(self) -> Path:
        return self._select().host_storage_path

    def logical_block_size(self) -> int | None:
        return self.inner.logical_block_size()


@dataclass(frozen=True)
class CrossoverLaunch:
    design: CrossoverDesign
    suite: Suite  # the original run's suite, narrowed to the cell: its settle time and policies
    plan: Plan
    target: Path
    db_path: Path
    fio: FioBinary
    run_tag: str
    reserve: Reserve
    description: str


CreateRun = Callable[[Store, Mapping[str, Environment]], int]
Notify = Callable[[str], None]


def _check_space(target: Path, need_bytes: int, reserve: Reserve) -> None:
    usage = shutil.disk_usage(existing_ancestor(target))
    keep = reserve.of(usage.total)
    if usage.free - keep < need_bytes:
        raise UserError(
            f"the cross-over needs {format_size(need_bytes)} for two working-set files under {target}; "
            f"{format_size(usage.free)} is free and {format_size(keep)} is kept in reserve",
            hint="free space on the run's target filesystem",
        )


def execute(
    launch: CrossoverLaunch, *, create_run: CreateRun, observer: RunObserver, notify: Notify
) -> tuple[RunSummary, int, list[str]]:
    """Lay out the two files, run the plan's trials through the runner, remove everything; returns
    (summary, run id, what was removed). On KeyboardInterrupt cleanup runs and the exception
    propagates with `.run_id` and `.removed` attached, as execute/launch.py does."""
    design = launch.design
    resources = RunResources(launch.run_tag, description=launch.description, database=launch.db_path)
    context = RunContext(
        target=launch.target,
        run_tag=launch.run_tag,
        fio=launch.fio,
        resources=resources,
        working_sets=SharedWorkingSets(enabled=False),  # two files on purpose, none shared
    )
    size = design.cell.working_set_bytes
    run_id: int | None = None
    removed: list[str] = []
    with terminate_as_interrupt():
        try:
            real = {name: registry.create(name, context) for name in (design.baseline, design.candidate)}
            for environment in real.values():
                reason = environment.crossover_unreachable()
                if reason is not None:
                    raise CrossoverUnreachable(reason)
            check_target(launch.target)
            _check_space(launch.target, 2 * size, launch.reserve)
            with TargetLock(launch.target, description=launch.description) as lock:
                if not lock.is_device:
                    resources.add("lock", str(lock.path), note="target lock")
                directory = context.run_dir / CROSSOVER_DIRECTORY
                # Registered before creation: a kill between the two must not leak them.
                resources.add_path(context.run_dir, note="run scratch directory")
                resources.add_path(directory, note="cross-over working-set files")
                files = {
                    owner: directory / f"{owner.replace(':', '-')}-file" / working_set_name(size) for owner in real
                }
                with contextlib.ExitStack() as stack:
                    for environment in real.values():
                        stack.enter_context(environment)
                    for owner in (design.baseline, design.candidate):  # the baseline's first, as in a run
                        notify(f"laying out {owner}'s working-set file ({format_size(size)}): {files[owner]}")
                        files[owner].parent.mkdir(parents=True, exist_ok=True)
                        lay_out_on_host(
                            files[owner].parent,
                            launch.fio.path,
                            files[owner],
                            size,
                            timeout_s=TIMEOUT_SLACK_S + size / LAYOUT_MIN_BPS,
                        )
                    views: dict[str, Environment] = {
                        c.name: FileView(c.name, real[c.environment], files[c.file_owner], c.file_owner)
                        for c in design.conditions()
                    }
                    with Store.open(launch.db_path) as store:
                        run_id = create_run(store, views)
                        usage = shutil.disk_usage(existing_ancestor(launch.target))
                        runner = Runner(
                            launch.plan,
                            views,
                            store,
                            observer,
                            reserve_bytes=dict.fromkeys(views, launch.reserve.of(usage.total)),
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
    assert run_id is not None
    return summary, run_id, removed
