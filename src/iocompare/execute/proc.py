"""argv-only subprocesses with a timeout and full diagnostics on failure.

Children run in their own process group so a timeout or Ctrl-C can stop fio and anything
it forked, and no child outlives the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iocompare.errors import ToolError

_TAIL_CHARS = 2000


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    wall_s: float


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _TAIL_CHARS else "..." + text[-_TAIL_CHARS:]


def describe_failure(argv: Sequence[str], exit_code: int, stderr: str, stdout: str = "") -> str:
    parts = [f"command failed with exit code {exit_code}: {' '.join(argv)}"]
    if stderr.strip():
        parts.append(f"stderr: {_tail(stderr)}")
    if stdout.strip():
        parts.append(f"stdout: {_tail(stdout)}")
    return "\n".join(parts)


def run(
    argv: Sequence[str],
    *,
    timeout_s: float,
    check: bool = True,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    stdin_data: str | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Completed:
    """Run argv; raise ToolError on timeout, on a missing program, or (with check) on failure."""
    argv = tuple(str(a) for a in argv)
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise ToolError(f"program not found: {argv[0]}", hint=f"install {os.path.basename(argv[0])}") from None
    if on_start is not None:
        on_start(process.pid)
    try:
        stdout, stderr = process.communicate(stdin_data, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise ToolError(
            f"timed out after {timeout_s:.0f} s: {' '.join(argv)}"
            + (f"\nstderr: {_tail(stderr)}" if stderr.strip() else "")
        ) from None
    except BaseException:
        # Ctrl-C or another exception while waiting: the child must not outlive us.
        _kill_group(process)
        process.communicate()
        raise
    done = Completed(argv, process.returncode, stdout, stderr, time.monotonic() - started)
    if check and done.exit_code != 0:
        raise ToolError(describe_failure(done.argv, done.exit_code, done.stderr, done.stdout))
    return done


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
