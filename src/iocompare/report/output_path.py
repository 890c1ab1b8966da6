"""Where a report or export may be written, decided before anything is rendered or written.

Refused with one line (exit 2): the results database itself (also through a symlink or a hard
link), a device node, FIFO or socket (replacing /dev/null with a regular file), a directory where a
file is meant (and a file where a directory is meant), a run's scratch directory and iocompare's
state and cache directories (cleanup removes what is in them), and a location that cannot be
written (permissions, a read-only filesystem).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from iocompare.errors import UserError
from iocompare.system.ownership import RUN_MARKER
from iocompare.system.resources import owned_roots

_HINT = "pass another --output"


def _refuse(path: Path, why: str) -> UserError:
    return UserError(f"--output {str(path)!r} {why}", hint=_HINT)


def _same_file(a: Path, b: Path) -> bool:
    try:
        first, second = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _writable_directory(directory: Path) -> str | None:
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return f"is on a read-only filesystem ({directory})"
    except OSError as exc:
        return f"cannot be checked: {exc.strerror}"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"is in a directory this user cannot write ({directory})"
    return None


def _inside_ours(real: Path) -> str | None:
    for root in owned_roots().roots:
        if real == root or root in real.parents:
            return f"is inside iocompare's own directory {root}"
    for candidate in (real, *real.parents):
        if (candidate / RUN_MARKER).is_file():
            return f"is inside the scratch directory of a run ({candidate})"
    return None


def check_output(path: Path, *, db_path: Path, directory: bool = False) -> None:
    """Refuse `path` as a report or export destination (a file, or with `directory` a Markdown directory)."""
    if not str(path) or "\0" in str(path):
        raise _refuse(path, "is not a usable path")
    real = Path(os.path.realpath(path))
    if _same_file(real, db_path):
        raise _refuse(path, "is the results database")
    try:
        mode: int | None = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise _refuse(path, f"cannot be checked: {exc.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode) and not directory:
        raise _refuse(path, "is a directory")
    if mode is not None and not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        raise _refuse(path, "is a device, FIFO or socket, not a regular file")
    if mode is not None and directory and not stat.S_ISDIR(mode):
        raise _refuse(path, "exists and is not a directory")
    problem = _inside_ours(real)
    if problem is None:
        # the temporary file (or directory) is made beside the destination, then renamed into place
        if not real.parent.is_dir():
            raise UserError(f"output directory {real.parent} does not exist", hint="create it or pass another --output")
        problem = _writable_directory(real.parent)
    if problem is None and mode is not None and stat.S_ISDIR(mode):
        problem = _writable_directory(real)
    if problem is not None:
        raise _refuse(path, problem)
