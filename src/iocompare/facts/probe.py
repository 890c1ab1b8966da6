"""What is recorded about the host and the storage under test (METHODOLOGY.md, Record with every result)."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import psutil

import iocompare
from iocompare.facts.judge import storage_facts_for


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fs_type: str
    source: str
    options: str
    major_minor: str


def host_facts() -> dict[str, str]:
    uname = platform.uname()
    return {
        "hostname": uname.node,
        "kernel": uname.release,
        "kernel_build": uname.version,
        "arch": uname.machine,
        "os": _os_release(),
        "cpu_model": _cpu_model(),
        "cpu_count": str(os.cpu_count() or 0),
        "memory_bytes": str(psutil.virtual_memory().total),
        "python": platform.python_version(),
        "iocompare": iocompare.__version__,
        **clock_facts(),
    }


CLOCKSOURCE_DIR = Path("/sys/devices/system/clocksource/clocksource0")


def clock_facts(directory: Path = CLOCKSOURCE_DIR) -> dict[str, str]:
    """The kernel clocksource fio's latencies are timed with, and the ones it could use instead."""
    facts = {}
    for name, file in (("clocksource", "current_clocksource"), ("clocksources_available", "available_clocksource")):
        try:
            value = ",".join((directory / file).read_text().split())
        except OSError:
            continue
        if value:
            facts[name] = value
    return facts


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mount_holding(path: str, mountinfo: str) -> Mount | None:
    """The mount holding `path` in a mountinfo text: the longest mount point that is a prefix."""
    best: Mount | None = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 10:
            continue
        sep = fields.index("-")
        mount_point = unescape_mountinfo(fields[4])
        inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) >= len(best.mount_point)):
            best = Mount(
                mount_point=mount_point,
                fs_type=fields[sep + 1],
                source=unescape_mountinfo(fields[sep + 2]),
                options=fields[5] + ("," + fields[sep + 3] if len(fields) > sep + 3 else ""),
                major_minor=fields[2],
            )
    return best


def find_mount(path: Path, mountinfo: str | None = None) -> Mount:
    """The mount holding `path` on this host (its real path, symlinks resolved)."""
    text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    return mount_holding(os.path.realpath(path), text) or Mount("/", "unknown", "unknown", "", "0:0")


def unescape_mountinfo(text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return text.encode().decode("unicode_escape") if "\\" in text else text


def block_device_name(major_minor: str) -> str | None:
    """Kernel name (as in /proc/diskstats) of the device behind major:minor, e.g. vda or nvme0n1p2."""
    link = Path("/sys/dev/block") / major_minor
    try:
        return os.path.basename(os.path.realpath(link)) if link.exists() else None
    except OSError:
        return None


def _queue_dir(device: str) -> Path | None:
    """A partition has no queue/ of its own; its parent disk's is the one that counts."""
    sys_dev = Path(os.path.realpath(Path("/sys/class/block") / device))
    for candidate in (sys_dev, sys_dev.parent):
        if (candidate / "queue").is_dir():
            return candidate
    return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def storage_facts(path: Path) -> dict[str, str]:
    mount = find_mount(path)
    facts = {
        "target_path": str(path),
        "fs_type": mount.fs_type,
        "mount_point": mount.mount_point,
        "mount_source": mount.source,
        "mount_options": mount.options,
    }
    device = block_device_name(mount.major_minor)
    if device:
        facts["device"] = device
        disk = _queue_dir(device)
        if disk is not None:
            for key, rel in (
                ("logical_block_size", "queue/logical_block_size"),
                ("physical_block_size", "queue/physical_block_size"),
                ("rotational", "queue/rotational"),
                ("scheduler", "queue/scheduler"),
                ("device_model", "device/model"),
                ("device_vendor", "device/vendor"),
            ):
                value = _read(disk / rel)
                if value:
                    facts[key] = value
    facts.update(storage_facts_for(mount.fs_type))
    return facts
