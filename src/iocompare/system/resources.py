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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from iocompare.errors import UserError
from iocompare.system.identity import ProcessIdentity, process_start_time
from iocompare.system.ownership import (
    ENGINES,
    OwnedRoots,
    engine_is_ours,
    executable_of,
    lock_is_ours,
    loop_is_ours,
    name_is_ours,
    process_is_ours,
    tag_belongs,
)
from iocompare.system.proc import kill_tree
from iocompare.system.untrusted import ManifestRecord, read_record

Notify = Callable[[str], None]
CACHE_ENV = "IOCOMPARE_CACHE_DIR"  # environments/microvm/image.py reads the same variable
OWNER_LABEL = "iocompare.run"  # environments/container/labels.py sets it on everything it creates

STATE_ENV = "IOCOMPARE_STATE_DIR"


def state_dir() -> Path:
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "iocompare"


@dataclass(frozen=True)
class Resource:
    kind: str  # "path" | "container" | "volume" | "process" | "mount" | "loop"
    ident: str  # path, container/volume name, pid, mount point
    engine: str = ""  # docker/podman for containers and volumes
    note: str = ""
    executable: str = ""  # a process: /proc/PID/exe when registered (recovery kills only a match)

    def describe(self) -> str:
        prefix = f"{self.engine} " if self.engine else ""
        return f"{prefix}{self.kind} {self.ident}"


def remove_resource(resource: Resource) -> None:
    """Best effort, idempotent removal of one resource this process registered itself."""
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
        if ProcessIdentity(int(pid_text), start or None).is_running():
            kill_tree(int(pid_text))
    elif resource.kind in ("container", "volume") and resource.engine in ENGINES:
        _engine_remove(resource)
    elif resource.kind == "mount":
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["umount", "-l", "--", resource.ident], capture_output=True, timeout=60)
    elif resource.kind == "loop":  # a busy device is detached by the kernel once its last user goes
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["losetup", "-d", resource.ident], capture_output=True, timeout=60)


def _engine_remove(resource: Resource) -> None:
    binary = shutil.which(resource.engine)  # by its name on PATH, never a path from a file
    if binary is None:
        return
    argv = [binary, "volume", "rm", "-f", "--", resource.ident]
    if resource.kind == "container":
        argv = [binary, "rm", "-f", *(["-t", "0"] if resource.engine == "podman" else []), "--", resource.ident]
    with contextlib.suppress(subprocess.SubprocessError, OSError):
        subprocess.run(argv, capture_output=True, timeout=60)


def _engine_run_label(resource: Resource) -> str | None:
    """The `iocompare.run` label the engine has on the named container or volume (None: none or unknown)."""
    binary = shutil.which(resource.engine)
    if binary is None:
        return None
    where = ".Config.Labels" if resource.kind == "container" else ".Labels"
    kind = "container" if resource.kind == "container" else "volume"
    argv = [binary, kind, "inspect", "--format", f'{{{{index {where} "{OWNER_LABEL}"}}}}', "--", resource.ident]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (subprocess.SubprocessError, OSError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def proven(resource: Resource, run_tag: str, roots: OwnedRoots) -> str | None:
    """Why a resource named by a dead run's manifest may not be touched (None: it is provably ours)."""
    if resource.kind in ("path", "mount"):
        return None if roots.path_is_ours(resource.ident, run_tag) else "not inside the run's own directories"
    if resource.kind == "lock":
        return None if lock_is_ours(resource.ident) else "not an iocompare target lock"
    if resource.kind == "loop":
        return None if loop_is_ours(resource.ident, run_tag, roots) else "not a loop device over the run's own file"
    if resource.kind == "process":
        pid_text, _, start = resource.ident.partition("@")
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses (found by the property test)
        if not pid_text.isascii() or not pid_text.isdigit():
            return "not a process id"
        if not process_is_ours(int(pid_text), start or None, resource.executable):
            return "not the recorded process (pid, start time and executable must all match)"
        return None
    if not engine_is_ours(resource.engine) or not name_is_ours(resource.ident, run_tag):
        return "not a name iocompare generated for this run"
    if not tag_belongs(_engine_run_label(resource), run_tag):
        return f"the engine does not label it as run {run_tag}'s"
    return None


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


def owned_roots() -> OwnedRoots:
    from_env = [state_dir()]
    cache = os.environ.get(CACHE_ENV)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    from_env.append(Path(cache) if cache else Path(base) / "iocompare")
    return OwnedRoots.of(from_env)


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
        resource = Resource("process", process_ident(pid), "", note, executable_of(pid) or "")
        if resource not in self._items:
            self._items.append(resource)
            self._write()
        return resource

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
    left_alone: tuple[str, ...] = ()  # named by the manifest without proof that the run made it


def _manifests(directory: Path | None, notify: Notify) -> Iterator[tuple[Path, ManifestRecord]]:
    runs = usable_state_dir(directory) / "runs"
    if not runs.is_dir():
        return
    for path in sorted(runs.glob("*.json")):
        record = read_record(path, ManifestRecord, notify)
        if record is not None:
            yield path, record


def recover_stale_runs(directory: Path | None = None, notify: Notify = lambda _: None) -> list[StaleRun]:
    """Remove the provable leftovers of runs whose process is gone (SIGKILL, power loss); an
    invalid manifest is moved aside, and what a valid one names is touched only with proof."""
    recovered = []
    roots = owned_roots()
    for path, data in _manifests(directory, notify):
        owner = ProcessIdentity(data.pid, data.pid_start)
        if owner.start_time is not None and owner.is_running():
            continue
        removed, left_alone = [], []
        for item in reversed(data.resources):
            resource = Resource(item.kind, item.ident, item.engine, item.note, item.executable)
            refusal = proven(resource, data.run_tag, roots)
            if refusal is None:
                remove_resource(resource)
                removed.append(resource.describe())
            else:
                left_alone.append(f"{resource.describe()} ({refusal})")
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        database = data.database
        recovered.append(
            StaleRun(
                data.run_tag,
                data.pid,
                data.description,
                tuple(removed),
                Path(database) if os.path.isabs(database) else None,
                tuple(left_alone),
            )
        )
    return recovered


def usable_state_dir(directory: Path | None = None) -> Path:
    """The state directory, refused in one line when it exists and is not a directory."""
    path = directory or state_dir()
    if os.path.lexists(path) and not path.is_dir():
        raise UserError(f"{STATE_ENV}={path} is not a directory", hint="point it at a directory (or unset it)")
    return path
