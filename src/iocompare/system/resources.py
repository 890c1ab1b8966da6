"""One owner for everything a run creates, with an on-disk manifest for crash recovery.

Every file, directory, container, volume, process and mount a run creates is registered here
before (or right after) it is created. Normal exits remove them in reverse order through the
owners' own teardown; the manifest exists for the exits that run no code at all (SIGKILL, power
loss): the next `iocompare` start finds manifests whose process is gone and removes what they list.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from iocompare.system.identity import ProcessIdentity, process_start_time
from iocompare.system.proc import kill_tree

STATE_ENV = "IOCOMPARE_STATE_DIR"


def state_dir() -> Path:
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "iocompare"


@dataclass(frozen=True)
class Resource:
    kind: str  # "path" | "container" | "volume" | "process" | "mount" | "netns" | "link" | "network"
    ident: str  # path, container/volume name, pid, mount point
    engine: str = ""  # docker/podman for containers and volumes
    note: str = ""

    def describe(self) -> str:
        prefix = f"{self.engine} " if self.engine else ""
        return f"{prefix}{self.kind} {self.ident}"


_NETWORK_REMOVAL = {
    "netns": ("ip", "netns", "delete"),
    "link": ("ip", "link", "delete"),
    "network": ("network", "rm", "-f"),
}


def remove_resource(resource: Resource) -> None:
    """Best effort, idempotent removal of one resource."""
    if resource.kind == "path":
        path = Path(resource.ident)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
                path.unlink()
    elif resource.kind == "lock":
        _remove_unheld_lock(Path(resource.ident))
    elif resource.kind == "process":
        pid_text, _, start = resource.ident.partition("@")
        pid = int(pid_text)
        if ProcessIdentity(pid, start or None).is_running():
            kill_tree(pid)
    elif resource.kind in ("container", "volume") and shutil.which(resource.engine or ""):
        argv = [resource.engine, "rm", "-f", resource.ident]
        if resource.kind == "volume":
            argv = [resource.engine, "volume", "rm", "-f", resource.ident]
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(argv, capture_output=True, timeout=60)
    elif resource.kind in _NETWORK_REMOVAL and shutil.which("ip" if resource.kind != "network" else resource.engine):
        # Namespaces, veths, bridges and taps (ip), engine networks (podman/docker network rm).
        argv = [*_NETWORK_REMOVAL[resource.kind], resource.ident]
        if resource.kind == "network":
            argv = [resource.engine, *argv]
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(argv, capture_output=True, timeout=60)
    elif resource.kind == "mount":
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["umount", "-l", resource.ident], capture_output=True, timeout=60)


def _remove_unheld_lock(path: Path) -> None:
    """Unlink a lock file only if nobody holds it (a newer run may be using the same path)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        os.close(fd)


def process_ident(pid: int) -> str:
    start = process_start_time(pid)
    return f"{pid}@{start}" if start else str(pid)


class RunResources:
    """The registry of one run, mirrored to `<state>/runs/<tag>.json` on every change."""

    def __init__(
        self,
        run_tag: str,
        *,
        description: str = "",
        directory: Path | None = None,
        persist: bool = True,
        database: Path | None = None,
    ) -> None:
        self.run_tag = run_tag
        # where the run is stored, so recovery after a SIGKILL marks it interrupted where it lives
        self._database = str(database.resolve()) if database is not None else ""
        self._persist = persist
        self._dir = (directory or state_dir()) / "runs"
        self._path = self._dir / f"{run_tag}.json"
        self._items: list[Resource] = []
        self._description = description
        self._pid = os.getpid()
        self._started = time.time()

    @property
    def manifest_path(self) -> Path:
        return self._path

    def add(self, kind: str, ident: str, *, engine: str = "", note: str = "") -> Resource:
        resource = Resource(kind, str(ident), engine, note)
        if resource not in self._items:
            self._items.append(resource)
            self._write()
        return resource

    def add_path(self, path: Path, note: str = "") -> Resource:
        return self.add("path", str(path), note=note)

    def add_process(self, pid: int, note: str = "") -> Resource:
        return self.add("process", process_ident(pid), note=note)

    def discard(self, resource: Resource) -> None:
        """The owner removed it itself."""
        if resource in self._items:
            self._items.remove(resource)
            self._write()

    def release(self, resource: Resource) -> None:
        remove_resource(resource)
        self.discard(resource)

    def items(self) -> tuple[Resource, ...]:
        return tuple(self._items)

    def remove_all(self) -> list[str]:
        """Remove what is still registered, newest first; return descriptions of what was removed."""
        removed = []
        for resource in reversed(self._items):
            remove_resource(resource)
            removed.append(resource.describe())
        self._items.clear()
        self.close()
        return removed

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    def _write(self) -> None:
        if not self._persist:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        data = {
            "run_tag": self.run_tag,
            "pid": self._pid,
            "pid_start": process_start_time(self._pid),
            "started_at": self._started,
            "description": self._description,
            "database": self._database,
            "resources": [asdict(r) for r in self._items],
        }
        temp = self._path.with_suffix(".tmp")
        temp.write_text(json.dumps(data, indent=1))
        os.replace(temp, self._path)


@dataclass(frozen=True)
class StaleRun:
    run_tag: str
    pid: int
    description: str
    removed: tuple[str, ...]
    database: Path | None = None  # the results database of the killed run, when the manifest names one


def _manifests(directory: Path | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    runs = (directory or state_dir()) / "runs"
    if not runs.is_dir():
        return
    for path in sorted(runs.glob("*.json")):
        try:
            yield path, json.loads(path.read_text())
        except (OSError, ValueError):
            continue


def recover_stale_runs(directory: Path | None = None) -> list[StaleRun]:
    """Remove the leftovers of runs whose process is gone (SIGKILL, power loss)."""
    recovered = []
    for path, data in _manifests(directory):
        owner = ProcessIdentity.from_settings(data)
        pid = owner.pid if owner is not None else 0
        if owner is not None and owner.start_time is not None and owner.is_running():
            continue
        resources = [Resource(**item) for item in data.get("resources", [])]
        for resource in reversed(resources):
            remove_resource(resource)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        database = data.get("database")
        recovered.append(
            StaleRun(
                data.get("run_tag", path.stem),
                pid,
                data.get("description", ""),
                tuple(r.describe() for r in resources),
                Path(database) if isinstance(database, str) and os.path.isabs(database) else None,
            )
        )
    return recovered
