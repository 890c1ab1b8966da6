"""Ownership labels on every container and volume iocompare creates, and the removal of those
whose run died (killed, power loss) before it could clean up.

A container or volume belongs to the process named by its labels: `iocompare.pid` plus that
process's start time (so a reused PID does not keep a leftover alive) on `iocompare.host`.
"""

from __future__ import annotations

import json
import platform
import shutil
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from iocompare.environments.container.engine import (
    ENGINES,
    Engine,
    labels_of,
    names,
)
from iocompare.errors import IocompareError
from iocompare.system.identity import ProcessIdentity

LABEL_RUN = "iocompare.run"
LABEL_PID = "iocompare.pid"
LABEL_PID_START = "iocompare.pid_start"
LABEL_HOST = "iocompare.host"
PREFIX = "iocompare-"


def owner_labels(run_tag: str) -> list[str]:
    owner = ProcessIdentity.current()
    args = []
    for key, value in (
        (LABEL_RUN, run_tag),
        (LABEL_PID, str(owner.pid)),
        (LABEL_PID_START, owner.start_time or ""),
        (LABEL_HOST, platform.node()),
    ):
        args += ["--label", f"{key}={value}"]
    return args


def owner_is_dead(labels: Mapping[str, str]) -> bool:
    """True only when the labels name a process on this host that is gone."""
    if labels.get(LABEL_HOST) != platform.node():
        return False
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    # the start time as /proc records it: a live pid with another start time is a reused pid
    return not ProcessIdentity(pid, labels.get(LABEL_PID_START) or None).is_running()


def _inspect_many(engine: Engine, kind: Sequence[str], items: Sequence[str]) -> list[dict[str, Any]]:
    if not items:
        return []
    done = engine.call(*kind, "inspect", *items, check=False)
    try:
        data = json.loads(done.stdout or "[]")
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _name(item: Mapping[str, object]) -> str:
    return str(item.get("Name", "")).lstrip("/")


def dead_leftovers(engine: Engine) -> tuple[list[str], list[str]]:
    """(containers, volumes) named iocompare-* whose owning run is no longer alive."""
    containers = names(engine, "ps", "-a", "--filter", f"label={LABEL_RUN}", "--format", "{{.Names}}")
    containers = [c for c in containers if c.startswith(PREFIX)]
    volumes = names(engine, "volume", "ls", "--filter", f"label={LABEL_RUN}", "--format", "{{.Name}}")
    volumes = [v for v in volumes if v.startswith(PREFIX)]
    dead_containers = [
        _name(item) for item in _inspect_many(engine, ("container",), containers) if owner_is_dead(labels_of(item))
    ]
    dead_volumes = [
        _name(item) for item in _inspect_many(engine, ("volume",), volumes) if owner_is_dead(labels_of(item))
    ]
    return dead_containers, dead_volumes


def remove_dead_leftovers(note: Callable[[str], None] = lambda _: None, kinds: Sequence[str] = ENGINES) -> list[str]:
    """Remove containers and volumes of dead iocompare runs from every reachable engine.

    Best effort: an engine that is missing or down is skipped, and nothing here stops a run.
    The engine's CLI is called directly rather than probed first (`probe.status` asks `info`,
    0.1 s an engine): a down daemon fails the listing, which skips it as well, and a run of the
    host alone no longer pays two engine probes before its first trial.
    """
    removed = []
    for kind in kinds:
        binary = shutil.which(kind)
        if binary is None:
            continue
        engine = Engine(kind, binary)
        try:
            containers, volumes = dead_leftovers(engine)
            for container in containers:
                engine.call(*engine.remove_container_args(container), check=False)
            for volume in volumes:
                engine.call("volume", "rm", "-f", volume, check=False)
        except IocompareError:
            continue
        for item in [*containers, *volumes]:
            note(f"removed {kind} leftover {item} of a run that is no longer alive")
            removed.append(f"{kind}:{item}")
    return removed
