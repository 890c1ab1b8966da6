"""Every file iocompare reads back, parsed into a typed frozen record before anything uses it.

A file iocompare wrote earlier may have been cut short, edited or planted. Whatever it says is
checked (pydantic strict: types, ranges, patterns, no unknown keys where the layout is ours); a
file that fails is reported in one line, moved aside into `invalid/` beside it (never deleted:
it may be evidence) and ignored. What a valid record names must still pass system/ownership.py
before cleanup acts on it.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from iocompare.system.safe_text import escape

MAX_BYTES = 1 << 20  # no file iocompare writes for itself is near this
INVALID_DIR = "invalid"
RUN_TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
HASH_PATTERN = r"^[0-9a-f]{64}$"

Notify = Callable[[str], None]
Record = TypeVar("Record", bound=BaseModel)

_STRICT = ConfigDict(strict=True, frozen=True, extra="forbid")
Text = Annotated[str, Field(max_length=4096)]


class ResourceRecord(BaseModel):
    """One entry of a run's resource manifest (system/resources.Resource as written)."""

    model_config = _STRICT
    kind: Literal["path", "lock", "process", "container", "volume", "mount"]
    ident: Annotated[str, Field(min_length=1, max_length=4096)]
    engine: Text = ""
    note: Text = ""
    executable: Text = ""


class ManifestRecord(BaseModel):
    """`<state>/runs/<tag>.json`: what a run created, and which process owns it."""

    model_config = _STRICT
    run_tag: Annotated[str, Field(pattern=RUN_TAG_PATTERN)]
    pid: Annotated[int, Field(gt=0, lt=1 << 32)]
    pid_start: Annotated[str, Field(pattern=r"^[0-9]{1,20}$")] | None = None
    started_at: float = 0.0
    description: Text = ""
    database: Text = ""
    resources: Annotated[list[ResourceRecord], Field(max_length=10_000)] = []


class LockRecord(BaseModel):
    """`<target>/.iocompare.lock`: who holds the target (only the error message reads it)."""

    model_config = _STRICT
    pid: Annotated[int, Field(gt=0, lt=1 << 32)]
    run: Text
    since: float


class GuestManifestRecord(BaseModel):
    """`<cache>/guest/<hash>/manifest.json`: what a guest image was built from."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")
    hash: Annotated[str, Field(pattern=HASH_PATTERN)]
    kernel_version: Annotated[str, Field(min_length=1, max_length=200)]
    fio_version: Annotated[str, Field(max_length=200)]
    fio_sha256: Annotated[str, Field(pattern=HASH_PATTERN)]
    initramfs_bytes: Annotated[int, Field(ge=0)]
    initramfs_unpacked_bytes: Annotated[int, Field(ge=0)]
    created_at: Annotated[float, Field(ge=0)]


def moved_aside(path: Path, reason: str, notify: Notify) -> Path | None:
    """Move `path` into `invalid/` beside it (a free name, never over another file); None if it cannot move."""
    folder = path.parent / INVALID_DIR
    try:
        folder.mkdir(exist_ok=True)
        for number in range(1000):
            destination = folder / (path.name if number == 0 else f"{path.name}.{number}")
            if not os.path.lexists(destination):
                os.rename(path, destination)
                notify(f"ignored {escape(str(path))}: {escape(reason)}; moved to {escape(str(destination))}")
                return destination
    except OSError:
        pass
    notify(f"ignored {escape(str(path))}: {escape(reason)} (it could not be moved aside)")
    return None


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of a regular file (not a symlink, device or FIFO) of at most `max_bytes`; ValueError else."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > max_bytes:
            raise ValueError(f"{info.st_size} bytes, more than {max_bytes}")
        data = os.read(fd, max_bytes + 1)
    finally:
        os.close(fd)
    return data.decode("utf-8")


def problem_of(path: Path, model: type[Record]) -> tuple[Record | None, str]:
    """(record, "") or (None, why it is not one)."""
    try:
        return model.model_validate_json(read_text(path)), ""
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        return None, f"{where}: {first['msg']}"
    except OSError as exc:
        return None, exc.strerror or str(exc)
    except ValueError as exc:
        return None, str(exc)


def read_record(path: Path, model: type[Record], notify: Notify, *, move_aside: bool = True) -> Record | None:
    """The file as a `model`, or None after one line (and moving it aside) when it is not one.
    A file that vanished in between is simply None."""
    if not os.path.lexists(path):
        return None
    record, problem = problem_of(path, model)
    if record is not None:
        return record
    if move_aside:
        what = re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__.removesuffix("Record")).lower()
        moved_aside(path, f"not a valid {what} ({problem})", notify)
    else:
        notify(f"ignored {escape(str(path))}: {escape(problem)}")
    return None


def read_pointer(path: Path, notify: Notify) -> str | None:
    """A cache pointer file: one content hash (64 hex digits) and a newline; None if absent or invalid."""
    if not os.path.lexists(path):
        return None
    try:
        value = read_text(path, 1024).strip()
    except (OSError, ValueError) as exc:
        value, problem = "", str(exc)
    else:
        problem = "" if _is_hash(value) else f"{value[:80]!r} is not a content hash"
    if problem:
        moved_aside(path, f"not a valid cache pointer ({problem})", notify)
        return None
    return value


def _is_hash(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def note_on_stderr(line: str) -> None:
    """The one line about an ignored file, where a caller has no notifier of its own."""
    print(f"iocompare: {line}", file=sys.stderr)
