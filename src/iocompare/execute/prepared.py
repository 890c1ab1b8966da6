"""Targets the run makes and removes: a filesystem on a scratch block device (`mkfs:FS:DEVICE`)
or on a loop file (`loop:FS:SIZE`, for tests). Each step registers what it made in the run's
resource manifest before the next, so every exit path (and the next start after a SIGKILL)
removes the mount, its directory, the loop device and the file, newest first."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from iocompare.environments.blockdev import guard
from iocompare.errors import ToolError, UserError
from iocompare.facts.probe import find_mount
from iocompare.spec.targets import TargetKind, TargetSpec
from iocompare.system import proc
from iocompare.system.resources import RunResources
from iocompare.units import format_size

MKFS_TIMEOUT_S = 300.0
# Non-interactive and overwriting: the device was guarded (or is our own loop file).
_MKFS_FORCE = {"ext4": ["-F", "-q"], "xfs": ["-f", "-q"], "btrfs": ["-f", "-q"]}


@dataclass(frozen=True)
class ReadyTarget:
    """A target as the run's environments use it: its label text, the directory, and facts."""

    spec: TargetSpec
    path: Path
    facts: Mapping[str, str] = field(default_factory=dict)  # recorded with every trial on it


def mkfs_argv(spec: TargetSpec, device: str) -> list[str]:
    assert spec.filesystem is not None
    return [f"mkfs.{spec.filesystem}", *_MKFS_FORCE[spec.filesystem], *spec.mkfs_options, device]


def check_prepared(spec: TargetSpec, *, allow_destroy: bool, force: bool, working_set_bytes: int) -> list[str]:
    """Refuse before anything is made: the device guard of raw targets, the loop file's size."""
    if spec.kind is TargetKind.MKFS:
        assert spec.device is not None
        return guard(Path(spec.device), allow_destroy=allow_destroy, force=force, working_set_bytes=working_set_bytes)
    if spec.kind is TargetKind.LOOP:
        assert spec.size_bytes is not None
        if working_set_bytes > spec.size_bytes:
            raise UserError(
                f"--target {spec.text}: working set {format_size(working_set_bytes)} does not fit in "
                f"the {format_size(spec.size_bytes)} loop file",
                hint="a larger loop file, or a smaller working_set.size",
            )
    return []


def prepare(spec: TargetSpec, *, base: Path, name: str, resources: RunResources) -> ReadyTarget:
    """Make the filesystem and mount it under `base` (a loop file lives there too)."""
    if not spec.prepared:
        return ReadyTarget(spec, Path(spec.text).absolute())
    facts = {"target_spec": spec.text, "target_made_by": "iocompare (removed after the run)"}
    if spec.kind is TargetKind.LOOP:
        assert spec.size_bytes is not None
        image = base / f"{name}.img"
        underneath = find_mount(base)
        resources.add_path(image, note=f"loop file of {spec.text}")
        try:
            with open(image, "wb") as handle:
                os.posix_fallocate(handle.fileno(), 0, spec.size_bytes)  # allocated: no holes to fill during the run
        except OSError as exc:
            raise ToolError(f"target {spec.text}: the loop file {image} could not be made: {exc.strerror}") from None
        device = proc.run(["losetup", "--find", "--show", str(image)], timeout_s=60).stdout.strip()
        resources.add("loop", device, note=f"loop device of {spec.text}")
        facts.update(
            {
                "target_stacked": f"yes: {spec.filesystem} on loop device {device} on file {image} "
                f"on {underneath.fs_type} ({underneath.source} at {underneath.mount_point})",
                "target_loop_file": str(image),
                "target_underlying_fs": underneath.fs_type,
            }
        )
    else:
        assert spec.device is not None
        device = spec.device
        facts["target_stacked"] = "no"
    argv = mkfs_argv(spec, device)
    proc.run(argv, timeout_s=MKFS_TIMEOUT_S)
    facts["target_mkfs"] = " ".join(argv)
    facts["target_mkfs_options"] = " ".join(spec.mkfs_options) or "defaults"
    mount_dir = base / f"{name}.mnt"
    mount_dir.mkdir()
    resources.add_path(mount_dir, note=f"mount point of {spec.text}")
    proc.run(["mount", device, str(mount_dir)], timeout_s=60)
    resources.add("mount", str(mount_dir), note=f"{spec.filesystem} of {spec.text}")
    return ReadyTarget(spec, mount_dir, facts)
