"""The host-side view of a container's CPU: its cgroup, the processes in it, its CPU counter.

`exec`-ed processes (fio) are not descendants of the container's PID 1 on the host: the runtime
forks them and they are reparented to the engine's shim (conmon, containerd-shim). They do join
the container's cgroup, so the cgroup, not the process tree of PID 1, is what belongs to the
container. Works with cgroup v1 (cpuacct controller) and v2 (unified hierarchy).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from iocompare.facts.probe import unescape_mountinfo

PROC = Path("/proc")


@dataclass(frozen=True)
class Cgroup:
    directory: Path  # host path of the container's cgroup directory (cpuacct for v1)
    version: int

    def procs(self) -> list[int]:
        try:
            text = (self.directory / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split() if line.isdigit()]

    def cpu_usage_s(self) -> float | None:
        """CPU time (user + system) the cgroup used so far, in seconds."""
        try:
            if self.version == 1:
                return int((self.directory / "cpuacct.usage").read_text()) / 1e9
            for line in (self.directory / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            return None
        return None


def _controller_mounts(mountinfo: str) -> tuple[Path | None, Path | None]:
    """(cpuacct v1 mount point, cgroup2 mount point) from a mountinfo text."""
    v1 = v2 = None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        sep = fields.index("-")
        fs_type = fields[sep + 1]
        super_options = fields[sep + 3].split(",") if len(fields) > sep + 3 else []
        if fs_type == "cgroup" and "cpuacct" in super_options and v1 is None:
            v1 = Path(unescape_mountinfo(fields[4]))
        elif fs_type == "cgroup2" and v2 is None:
            v2 = Path(unescape_mountinfo(fields[4]))
    return v1, v2


def cgroup_of(pid: int, *, proc: Path = PROC, mountinfo: str | None = None) -> Cgroup | None:
    """The cgroup whose CPU counter covers `pid`; None when it cannot be found."""
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
        mountinfo = mountinfo if mountinfo is not None else (proc / "self" / "mountinfo").read_text()
    except OSError:
        return None
    v1_mount, v2_mount = _controller_mounts(mountinfo)
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if v1_mount is not None and "cpuacct" in controllers.split(","):
            return Cgroup(v1_mount / path.lstrip("/"), 1)
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and controllers == "" and v2_mount is not None:
            directory = v2_mount / path.lstrip("/")
            if (directory / "cpu.stat").exists():
                return Cgroup(directory, 2)
    return None


def process_roots(pids: list[int]) -> list[int]:
    """The PIDs whose parent is not among `pids`: summing their process trees counts each once."""
    members = set(pids)
    roots = []
    for pid in pids:
        try:
            if psutil.Process(pid).ppid() not in members:
                roots.append(pid)
        except psutil.NoSuchProcess:
            continue
    return roots
