"""One run per target at a time: an advisory flock on `<target>/.iocompare.lock`.

flock is released by the kernel when the process dies, even by SIGKILL, so a crashed run never
leaves a lock that blocks the next one; the file's content only serves the error message.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from pathlib import Path

from iocompare.errors import UserError
from iocompare.system.safe_text import escape
from iocompare.system.untrusted import LockRecord

LOCK_NAME = ".iocompare.lock"


class TargetLock:
    def __init__(self, target: Path, *, description: str) -> None:
        self.is_device = stat.S_ISBLK(os.stat(target).st_mode) if target.exists() else False
        # A block device is locked through its own node: nothing is written next to it.
        self.path = target if self.is_device else target / LOCK_NAME
        self._description = description
        self._fd: int | None = None

    def __enter__(self) -> TargetLock:
        if self.is_device:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise UserError(
                    f"block device {self.path} is in use by another iocompare run", hint="wait for it to finish"
                ) from None
            self._fd = fd
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise UserError(
                    f"target {self.path.parent} is in use by another iocompare run ({holder})",
                    hint="wait for it to finish or use another --target",
                ) from None
            # The holder unlinks the file on release; a lock on an unlinked inode is no lock.
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "run": self._description, "since": time.time()}).encode())
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        try:
            if not self.is_device:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


def _read_holder(fd: int) -> str:
    """Who holds the lock, as its file says; the file is untrusted (and held: never moved aside)."""
    try:
        holder = LockRecord.model_validate_json(os.pread(fd, 4096, 0))
        since = time.strftime("%H:%M:%S", time.localtime(holder.since))
    except (OSError, ValueError, OverflowError):
        return "holder unknown"
    return f"pid {holder.pid}, {escape(holder.run)}, since {since}"
