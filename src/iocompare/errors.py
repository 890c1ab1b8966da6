"""Error types. Library code raises these; only the CLI turns them into output and exit codes."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURES = 1  # finished, but some trials failed (or a regression was found)
    BAD_INPUT = 2
    INTERRUPTED = 130  # SIGINT / Ctrl-C
    TERMINATED = 143  # SIGTERM, 128 + 15 as shells report it


class IocompareError(Exception):
    """Base class: anything iocompare raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURES

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class UserError(IocompareError):
    """Bad input: a field and its value were wrong. Exit code 2, nothing written."""

    exit_code = ExitCode.BAD_INPUT


class ToolError(IocompareError):
    """An external tool (fio, podman, qemu) failed at run time."""


class FioOutputError(IocompareError):
    """fio's output could not be understood."""


class EnvironmentUnavailable(UserError):
    """A requested environment cannot run on this machine; the message says why."""


class LoadOutputError(FioOutputError):
    """iperf3's or sockperf's output could not be understood (one line, like fio's)."""
