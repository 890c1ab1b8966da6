"""Every environment on every target: one run context per target (its own directory, lock and
name tag), and the environments keyed by their labels (`env@target` when there are several)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

from iocompare.environments import registry
from iocompare.environments.base import Environment, RunContext
from iocompare.environments.container.environment import DRY_RUN_TAG
from iocompare.execute.prepared import ReadyTarget, prepare
from iocompare.spec.targets import TargetSpec, label
from iocompare.system.lock import TargetLock
from iocompare.system.ownership import run_dir_name, target_tag, write_marker
from iocompare.system.resources import RunResources


def ready_all(
    specs: Sequence[TargetSpec],
    *,
    base: Path,
    run_tag: str,
    resources: RunResources,
    locks: contextlib.ExitStack,
    description: str,
) -> list[ReadyTarget]:
    """Prepare what the run makes and lock what it was given; everything registered for removal.

    Every directory the run writes into carries its marker (system/ownership.py), so recovery after
    a SIGKILL can prove the loop files, mount points and scratch directories are this run's own."""
    if any(spec.prepared for spec in specs):
        made_base = base / run_dir_name(run_tag)  # loop files and mount points of made targets
        resources.add_path(made_base, note="made targets' directory")
        write_marker(made_base, run_tag)
        base = made_base
    ready = []
    for index, spec in enumerate(specs):
        target = prepare(spec, base=base, name=f"target{index}", resources=resources)
        lock = None
        if not spec.prepared:  # a made filesystem is the run's own: no other run can know its path
            lock = locks.enter_context(TargetLock(target.path, description=description))
            if not lock.is_device:
                resources.add("lock", str(lock.path), note="target lock")
        if lock is None or not lock.is_device:
            run_dir = target.path / run_dir_name(tag_of(run_tag, len(specs), index))
            resources.add_path(run_dir, note="run scratch directory")
            write_marker(run_dir, tag_of(run_tag, len(specs), index))
        ready.append(target)
    return ready


def tag_of(run_tag: str, count: int, index: int) -> str:
    """Target `index`'s name tag: the run's own with one target, else one per target (and a dry run's stays)."""
    return run_tag if count == 1 or run_tag == DRY_RUN_TAG else target_tag(run_tag, index)


def context_for(base: RunContext, targets: Sequence[ReadyTarget], index: int) -> RunContext:
    """Target `index`'s context. With several targets each gets its own tag, so names made from it
    (containers, volumes, directories) never meet across targets."""
    # A dry run's tag stays: environments recognise it and make nothing.
    tag = tag_of(base.run_tag, len(targets), index)
    target = targets[index]
    return dataclasses.replace(base, target=target.path, run_tag=tag, target_facts=dict(target.facts))


def create_on_targets(names: Sequence[str], targets: Sequence[ReadyTarget], base: RunContext) -> dict[str, Environment]:
    out: dict[str, Environment] = {}
    for index, target in enumerate(targets):
        context = context_for(base, targets, index)
        for name in names:
            key = label(name, target.spec.text if len(targets) > 1 else None)
            out[key] = registry.create(name, context)
    return out
