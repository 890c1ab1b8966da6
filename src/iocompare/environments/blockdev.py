"""Raw block devices as targets: destroyed on purpose, so guarded twice.

`--allow-destroy` is required for any block device; even then a device that is mounted, holds
partitions or carries a filesystem, RAID or partition-table signature is refused unless `--force`
is also given. The preflight says exactly what will be overwritten.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from iocompare.errors import UserError
from iocompare.units import format_size


@dataclass(frozen=True)
class BlockDevice:
    path: Path
    name: str  # kernel name, e.g. loop0, nvme0n1
    size_bytes: int
    logical_block_size: int
    mounted_at: tuple[str, ...]
    partitions: tuple[str, ...]
    holders: tuple[str, ...]  # device-mapper, md RAID members
    signature: str | None  # what blkid/wipefs found: "ext4", "dos partition table", ...
    model: str | None


def is_block_device(path: Path) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def _sys(name: str) -> Path:
    return Path("/sys/class/block") / name


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _signature(path: Path) -> str | None:
    """wipefs lists every signature it knows (filesystems, RAID, partition tables) without writing."""
    tool = shutil.which("wipefs")
    if tool is None:
        return None
    done = subprocess.run(
        [tool, "--no-act", "--noheadings", "--output", "TYPE", str(path)], capture_output=True, text=True, timeout=30
    )
    types = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return ", ".join(types) or None


def inspect(path: Path) -> BlockDevice:
    st = os.stat(path)
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    name = os.path.basename(os.path.realpath(f"/sys/dev/block/{major}:{minor}"))
    sysdir = _sys(name)
    partitions = (
        tuple(sorted(p.name for p in sysdir.iterdir() if (p / "partition").exists())) if sysdir.is_dir() else ()
    )
    holders_dir = sysdir / "holders"
    holders = tuple(sorted(p.name for p in holders_dir.iterdir())) if holders_dir.is_dir() else ()
    numbers = {f"{major}:{minor}"} | {_read(_sys(p) / "dev") or "" for p in partitions}
    mounted = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[2] in numbers:
            mounted.append(fields[4])
    sectors = int(_read(sysdir / "size") or 0)
    return BlockDevice(
        path=path,
        name=name,
        size_bytes=sectors * 512,  # /sys size is always in 512-byte sectors
        logical_block_size=int(_read(sysdir / "queue" / "logical_block_size") or 512),
        mounted_at=tuple(mounted),
        partitions=partitions,
        holders=holders,
        signature=_signature(path),
        model=_read(sysdir / "device" / "model"),
    )


def guard(path: Path, *, allow_destroy: bool, force: bool, working_set_bytes: int) -> list[str]:
    """Refuse unsafe targets; return the preflight lines saying what will be overwritten."""
    if not allow_destroy:
        raise UserError(
            f"target {path} is a block device: the benchmark overwrites it",
            hint="add --allow-destroy if its contents may be destroyed",
        )
    device = inspect(path)
    in_use = []
    if device.mounted_at:
        in_use.append(f"is mounted at {', '.join(device.mounted_at)}")
    if device.partitions:
        in_use.append(f"holds partitions {', '.join(device.partitions)}")
    if device.holders:
        in_use.append(f"is used by {', '.join(device.holders)}")
    if device.signature:
        in_use.append(f"carries a {device.signature} signature")
    if in_use and not force:
        raise UserError(
            f"refusing to overwrite {path}: it {'; it '.join(in_use)}", hint="add --force as well if you are sure"
        )
    if working_set_bytes > device.size_bytes:
        raise UserError(
            f"working set {format_size(working_set_bytes)} is larger than {path} ({format_size(device.size_bytes)})",
            hint="lower working_set.size in the suite",
        )
    lines = [
        f"will overwrite {path} ({device.name}, {device.model or 'unknown model'}, {format_size(device.size_bytes)}): "
        f"the first {format_size(working_set_bytes)}"
    ]
    if in_use:
        lines.append(f"--force given although it {'; it '.join(in_use)}")
    return lines


def device_facts(path: Path) -> dict[str, str]:
    device = inspect(path)
    facts = {
        "target_path": str(path),
        "fs_type": "none (raw block device)",
        "device": device.name,
        "device_size_bytes": str(device.size_bytes),
        "logical_block_size": str(device.logical_block_size),
    }
    queue = _sys(device.name) / "queue"
    for key, rel in (
        ("physical_block_size", "physical_block_size"),
        ("rotational", "rotational"),
        ("scheduler", "scheduler"),
    ):
        value = _read(queue / rel)
        if value:
            facts[key] = value
    if device.model:
        facts["device_model"] = device.model
    return facts
