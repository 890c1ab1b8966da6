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
    """Prepare what the run makes and lock what it was given; everything registered for removal."""
    ready = []
    for index, spec in enumerate(specs):
        target = prepare(spec, base=base, name=f"iocompare-{run_tag}-target{index}", resources=resources)
        if not spec.prepared:  # a made filesystem is the run's own: no other run can know its path
            lock = locks.enter_context(TargetLock(target.path, description=description))
            if not lock.is_device:
                resources.add("lock", str(lock.path), note="target lock")
        ready.append(target)
    return ready


def context_for(base: RunContext, targets: Sequence[ReadyTarget], index: int) -> RunContext:
    """Target `index`'s context. With several targets each gets its own tag, so names made from it
    (containers, volumes, directories) never meet across targets."""
    # A dry run's tag stays: environments recognise it and make nothing.
    tag = base.run_tag if len(targets) == 1 or base.run_tag == DRY_RUN_TAG else f"{base.run_tag}t{index}"
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
