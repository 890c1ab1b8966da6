"""One working-set file per storage path, shared by every environment that reaches it.

Two identical files laid out one after the other read at 2.0 and 1.1 GiB/s on this machine's
disk: where a file's blocks land (and what a lower cache holds of them) is confounded with the
environment when each environment lays out its own. So the host, bind-mounted containers and
microVMs whose raw virtio disk can be that very file read the same extents: the host and the
containers the file, a guest the device backed by it. Environments whose path differs (a volume,
the container's layer, tmpfs, ext4 made in the guest) keep their own, and so does `host:twin`, on
purpose: the A/A pair calibrates what placement alone does.

The file lives in the run's directory (`iocompare-<tag>/shared/`), is laid out once by the first
environment that needs it (the host's fio, sequential, end_fsync) and removed when the last
environment sharing it is torn down.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from iocompare.system.resources import Resource, RunResources
from iocompare.units import short_size

SHARED_DIRECTORY = "shared"


def reaches_shared_file(name: str) -> bool:
    """Whether the environment named `name` reads the shared file (on a directory target, sharing on):
    the rule each environment applies, by name, for estimates made before any is created."""
    kind, _, variant = name.partition("@")[0].partition(":")  # env@target: the environment
    if kind in ("host", "docker", "podman"):
        return variant == ""  # host:twin keeps its own on purpose; volume, overlay, tmpfs differ
    return kind in ("qemu", "firecracker") and "fs" not in variant.split(",")


def working_set_name(size_bytes: int) -> str:
    return f"working-set-{short_size(size_bytes)}.dat"


@dataclass
class SharedWorkingSets:
    """The run's shared working-set files (owned by the RunContext, so every environment of a run
    sees the same one). `enabled=False` gives every environment its own file, as before issue 11."""

    enabled: bool = True
    _users: set[str] = field(default_factory=set)
    _laid_out: set[Path] = field(default_factory=set)
    _registered: list[Resource] = field(default_factory=list)

    @staticmethod
    def directory(run_dir: Path) -> Path:
        return run_dir / SHARED_DIRECTORY

    def path(self, run_dir: Path, size_bytes: int) -> Path:
        return self.directory(run_dir) / working_set_name(size_bytes)

    def users(self) -> tuple[str, ...]:
        return tuple(sorted(self._users))

    def acquire(self, user: str, run_dir: Path, resources: RunResources) -> Path:
        """`user` (an environment name) will read the shared file; the directory exists after this."""
        directory = self.directory(run_dir)
        if not self._registered:
            # Registered before creation: a kill between the two must not leak it.
            self._registered = [
                resources.add_path(run_dir, note="run scratch directory"),
                resources.add_path(directory, note="shared working set"),
            ]
        directory.mkdir(parents=True, exist_ok=True)
        self._users.add(user)
        return directory

    def ensure(self, run_dir: Path, size_bytes: int, lay_out: Callable[[Path], None]) -> Path:
        """The shared file of this size, laid out by `lay_out(path)` the first time it is needed."""
        path = self.path(run_dir, size_bytes)
        if path in self._laid_out and path.exists() and path.stat().st_size == size_bytes:
            return path
        try:
            lay_out(path)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._laid_out.add(path)
        return path

    def release(self, user: str, run_dir: Path, resources: RunResources) -> None:
        """`user` is torn down; the last one removes the shared directory."""
        self._users.discard(user)
        if self._users:
            return
        directory = self.directory(run_dir)
        shutil.rmtree(directory, ignore_errors=True)
        try:
            run_dir.rmdir()  # the run's directory, once no environment uses it
        except OSError:
            pass
        for resource in self._registered:
            if not Path(resource.ident).exists():
                resources.discard(resource)
        self._registered = [r for r in self._registered if Path(r.ident).exists()]
        self._laid_out.clear()
