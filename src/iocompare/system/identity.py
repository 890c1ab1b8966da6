"""Which process is this: a pid plus its start time, so a pid the kernel has reused for another
program is never mistaken for the process iocompare recorded (and never killed or waited for)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def process_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (clock ticks after boot); None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class ProcessIdentity:
    pid: int
    start_time: str | None  # None: not recorded (older manifests), only the pid can be checked

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity:
        return cls(pid, process_start_time(pid))

    @classmethod
    def current(cls) -> ProcessIdentity:
        return cls.of(os.getpid())

    def is_running(self) -> bool:
        """The recorded process still runs: the pid is alive and, when recorded, started when it did."""
        if not pid_alive(self.pid):
            return False
        return self.start_time is None or process_start_time(self.pid) == self.start_time

    def as_settings(self) -> dict[str, object]:
        """The form stored in a run's settings and manifests: {"pid": ..., "pid_start": ...}."""
        return {"pid": self.pid, "pid_start": self.start_time}

    @classmethod
    def from_settings(cls, settings: dict[str, object]) -> ProcessIdentity | None:
        pid, start = settings.get("pid"), settings.get("pid_start")
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            return None
        return cls(pid, start if isinstance(start, str) else None)
