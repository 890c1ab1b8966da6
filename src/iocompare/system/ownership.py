"""The proofs cleanup must have before it removes, unmounts or kills what a manifest names.

A manifest is a file on disk, so what it names is a claim, not a fact. Cleanup acts only on what
it can prove iocompare made:

- a path: absolute, normalised (no `.` or `..`, not `/`), and inside the run's own scratch
  directory `<target>/iocompare-<tag>/` that carries the marker file with that tag, or inside an
  entry of the state or cache directory whose name carries the tag; the path's parents are
  resolved (a symlink does not lead out), the path itself is never followed;
- a target lock: a regular file named `.iocompare.lock` that reads as a lock record;
- a container or volume: docker or podman (looked up on PATH by that name, never a path from the
  file), a name iocompare generates for that run (`iocompare-<tag>...`), passed after `--`;
  the engine-side owner labels are checked by the caller before removal;
- a process: pid, start time and executable all as recorded.

Nothing named by a file is ever executed.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iocompare.system.identity import process_start_time
from iocompare.system.untrusted import LockRecord, problem_of

RUN_MARKER = ".iocompare-run"  # in <target>/iocompare-<tag>/, holding the tag
LOCK_NAME = ".iocompare.lock"
ENGINES = ("docker", "podman")
_GENERATED_NAME = re.compile(r"^iocompare-[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")


def run_dir_name(run_tag: str) -> str:
    return f"iocompare-{run_tag}"


def target_tag(run_tag: str, index: int) -> str:
    """The tag of a run's `index`-th target when it has several: names never meet across targets."""
    return f"{run_tag}t{index}"


def tag_belongs(tag: str | None, run_tag: str) -> bool:
    """`tag` is the run's own tag or one of its targets' (`target_tag`)."""
    if tag is None:
        return False
    return tag == run_tag or re.fullmatch(re.escape(run_tag) + r"t[0-9]{1,4}", tag) is not None


def write_marker(run_dir: Path, run_tag: str) -> Path:
    """Mark `run_dir` as this run's own (cleanup after a SIGKILL removes only marked directories)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    marker = run_dir / RUN_MARKER
    marker.write_text(run_tag + "\n")
    return marker


def _normalised_absolute(text: str) -> Path | None:
    if not text or "\0" in text or not text.startswith("/"):
        return None
    parts = text.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        return None  # `/`, `//x`, `/a/./b`, `/a/../b`, a trailing slash
    return Path(text)


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _carries_marker(run_dir: Path, run_tag: str) -> bool:
    marker = run_dir / RUN_MARKER
    try:
        info = os.lstat(marker)
        return stat.S_ISREG(info.st_mode) and marker.read_text(errors="replace").strip() == run_tag
    except OSError:
        return False


@dataclass(frozen=True)
class OwnedRoots:
    """The directories iocompare may remove things from: state, cache (both its own by name)."""

    roots: tuple[Path, ...]

    @classmethod
    def of(cls, roots: Sequence[Path]) -> OwnedRoots:
        return cls(tuple(Path(os.path.realpath(root)) for root in roots if root.is_absolute() and root != Path("/")))

    def path_is_ours(self, text: str, run_tag: str) -> bool:
        path = _normalised_absolute(text)
        if path is None:
            return False
        real = Path(os.path.realpath(path.parent)) / path.name  # the entry itself is never followed
        for root in self.roots:
            # only inside an entry of the state or cache directory that carries the run's tag:
            # never the manifests, the guest images or the invalid/ files of other runs
            if _within(real, root) and real != root and run_tag in real.relative_to(root).parts[0]:
                return True
        for candidate in (real, *real.parents):
            tag = candidate.name.removeprefix("iocompare-")
            if tag != candidate.name and tag_belongs(tag, run_tag):
                return _carries_marker(candidate, tag)
        return False


def lock_is_ours(text: str) -> bool:
    path = _normalised_absolute(text)
    if path is None or path.name != LOCK_NAME:
        return False
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    record, _ = problem_of(path, LockRecord)
    return record is not None


def engine_is_ours(engine: str) -> bool:
    return engine in ENGINES


def name_is_ours(name: str, run_tag: str) -> bool:
    """A container or volume name iocompare generated for this run."""
    if not _GENERATED_NAME.match(name):
        return False
    tag = name.removeprefix("iocompare-").split("-", 1)[0]
    return tag_belongs(tag, run_tag)


def loop_is_ours(device: str, run_tag: str, roots: OwnedRoots) -> bool:
    """A loop device whose backing file is inside the run's own directories (the kernel says which file)."""
    match = re.fullmatch(r"/dev/loop([0-9]{1,4})", device)
    if match is None:
        return False
    try:
        backing = Path(f"/sys/block/loop{match.group(1)}/loop/backing_file").read_text().strip()
    except OSError:
        return False
    return roots.path_is_ours(backing, run_tag)


def executable_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def process_is_ours(pid: int, start_time: str | None, executable: str) -> bool:
    """The process running now is the one recorded: same pid, same start time, same executable."""
    if pid <= 1 or not start_time or not executable:
        return False
    return process_start_time(pid) == start_time and executable_of(pid) == executable
