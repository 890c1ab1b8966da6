"""Disk-space planning before anything is written, and the reserve checked during a run.

Every environment states what it will write on which host path (`Environment.space_needs`);
needs are grouped by filesystem and compared with its free space minus a reserve. When the plan
does not fit, the working set is shrunk for every environment alike (cells must stay identical to
be comparable), never below the suite's floor and the working-set rule; environments on a
filesystem that cannot hold even that are refused with the reason. The run never starts writing
what cannot fit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from iocompare.environments.base import Environment, SpaceNeed
from iocompare.facts.probe import find_mount
from iocompare.units import format_size

DEFAULT_RESERVE_MIN_BYTES = 1 << 30
DEFAULT_RESERVE_FRACTION = 0.05


@dataclass(frozen=True)
class Reserve:
    min_bytes: int = DEFAULT_RESERVE_MIN_BYTES
    fraction: float = DEFAULT_RESERVE_FRACTION

    def of(self, filesystem_bytes: int) -> int:
        return max(self.min_bytes, int(self.fraction * filesystem_bytes))


@dataclass(frozen=True)
class FilesystemPlan:
    mount_point: str
    fs_type: str
    size_bytes: int
    free_bytes: int
    reserve_bytes: int
    needs: tuple[tuple[str, SpaceNeed], ...]  # (environment, need)
    needed_bytes: int  # at the planned working set

    @property
    def spare_bytes(self) -> int:
        return self.free_bytes - self.reserve_bytes - self.needed_bytes


@dataclass(frozen=True)
class SpacePlan:
    requested_working_set_bytes: int
    working_set_bytes: int  # what the run will use
    filesystems: tuple[FilesystemPlan, ...]
    refused: Mapping[str, str]  # environment -> reason

    @property
    def shrunk(self) -> bool:
        return self.working_set_bytes < self.requested_working_set_bytes


def existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _filesystem_key(path: Path) -> int:
    return os.stat(existing_ancestor(path)).st_dev


def _needed(needs: Sequence[SpaceNeed], working_set_bytes: int, requested: int) -> int:
    total = 0
    for need in needs:
        if need.scales_with_working_set and requested:
            total += need.size_bytes * working_set_bytes // requested
        else:
            total += need.size_bytes
    return total


def plan_space(
    environments: Mapping[str, Environment],
    *,
    working_set_bytes: int,
    floor_bytes: int,
    reserve: Reserve,
    extra_needs: Sequence[SpaceNeed] = (),
) -> SpacePlan:
    """The largest working set (a power of two, at most the requested one) that fits everywhere."""
    groups: dict[int, list[tuple[str, SpaceNeed]]] = {}
    shared: set[Path] = set()
    for name, environment in environments.items():
        for need in environment.space_needs(working_set_bytes):
            if need.shared_as is not None:
                if need.shared_as in shared:
                    continue  # one file for every environment that shares it
                shared.add(need.shared_as)
            groups.setdefault(_filesystem_key(need.path), []).append((name, need))
    for need in extra_needs:
        groups.setdefault(_filesystem_key(need.path), []).append(("iocompare", need))

    def fits(size: int, needs: list[tuple[str, SpaceNeed]], free: int, keep: int) -> bool:
        return _needed([n for _, n in needs], size, working_set_bytes) <= free - keep

    stats = {}
    for key, needs in groups.items():
        anchor = existing_ancestor(needs[0][1].path)
        vfs = os.statvfs(anchor)
        size, free = vfs.f_blocks * vfs.f_frsize, vfs.f_bavail * vfs.f_frsize
        stats[key] = (anchor, size, free, reserve.of(size))

    chosen = working_set_bytes
    refused: dict[str, str] = {}
    candidate_sizes = [working_set_bytes] + [
        1 << p
        for p in range(working_set_bytes.bit_length() - 1, -1, -1)
        if (1 << p) < working_set_bytes and (1 << p) >= floor_bytes
    ]
    for key, needs in groups.items():
        anchor, size, free, keep = stats[key]
        best = next((s for s in candidate_sizes if fits(s, needs, free, keep)), None)
        if best is None:
            at_floor = _needed([n for _, n in needs], min(candidate_sizes), working_set_bytes)
            mount = find_mount(anchor)
            reason = (
                f"not enough space on {mount.mount_point}: needs {format_size(at_floor)} even at the smallest allowed "
                f"working set ({format_size(min(candidate_sizes))}), {format_size(max(free, 0))} free with a reserve "
                f"of {format_size(keep)}"
            )
            for name, _need in needs:
                if name != "iocompare":
                    refused.setdefault(name, reason)
            continue
        chosen = min(chosen, best)

    filesystems = []
    for key, needs in groups.items():
        anchor, size, free, keep = stats[key]
        mount = find_mount(anchor)
        active = [(n, need) for n, need in needs if n not in refused]
        filesystems.append(
            FilesystemPlan(
                mount.mount_point,
                mount.fs_type,
                size,
                free,
                keep,
                tuple(needs),
                _needed([n for _, n in active], chosen, working_set_bytes),
            )
        )
    return SpacePlan(working_set_bytes, chosen, tuple(filesystems), refused)


def describe(plan: SpacePlan) -> list[str]:
    lines = []
    for fs in plan.filesystems:
        verdict = "fits" if fs.spare_bytes >= 0 else "DOES NOT FIT"
        lines.append(
            f"{fs.mount_point} ({fs.fs_type}): needs {format_size(fs.needed_bytes)} at peak, "
            f"{format_size(fs.free_bytes)} free, reserve {format_size(fs.reserve_bytes)}: {verdict}"
        )
        for environment, need in fs.needs:
            lines.append(
                f"    {need.what} ({environment}): {format_size(need.size_bytes)} at the requested working set"
            )
    if plan.shrunk:
        lines.append(
            f"working set shrunk from {format_size(plan.requested_working_set_bytes)} to "
            f"{format_size(plan.working_set_bytes)} so every environment fits"
        )
    for environment, reason in plan.refused.items():
        lines.append(f"refused {environment}: {reason}")
    return lines
