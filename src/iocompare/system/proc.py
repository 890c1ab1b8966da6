"""argv-only subprocesses with a timeout and full diagnostics on failure.

Children run in their own process group so a timeout or Ctrl-C can stop fio and anything
it forked, and no child outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

import psutil

from iocompare.errors import ToolError
from iocompare.system.signals import SignalsHeld

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


def describe_failure(argv: Sequence[str], exit_code: int | None, stderr: str, stdout: str = "") -> str:
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
    held = SignalsHeld()
    with held:
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
        try:
            if on_start is not None:
                on_start(process.pid)
            held.release()  # a signal that arrived since the fork is raised here, inside the try
            stdout, stderr = process.communicate(stdin_data, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            stdout, stderr = process.communicate()
            raise ToolError(
                f"timed out after {timeout_s:.0f} s: {' '.join(argv)}"
                + (f"\nstderr: {_tail(stderr)}" if stderr.strip() else "")
            ) from None
        except BaseException:
            # Ctrl-C or SIGTERM while waiting: the child must not outlive us. communicate() is not
            # called again: after an exception raised inside it, a second call can wait forever.
            _kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
            raise
    done = Completed(argv, process.returncode, stdout, stderr, time.monotonic() - started)
    if check and done.exit_code != 0:
        raise ToolError(describe_failure(done.argv, done.exit_code, done.stderr, done.stdout))
    return done


def run_many(argvs: Sequence[Sequence[str]], *, timeout_s: float, cwd: str | None = None) -> list[Completed]:
    """Run several argvs at the same time (no threads: output goes to files), each as `run` would
    with check=False; one shared deadline. A program that cannot start, or the deadline, is a ToolError."""
    started = time.monotonic()
    processes: list[tuple[tuple[str, ...], subprocess.Popen[str], IO[str], IO[str]]] = []
    with contextlib.ExitStack() as files:
        try:
            for raw in argvs:
                argv = tuple(str(a) for a in raw)
                out = files.enter_context(tempfile.TemporaryFile("w+"))
                err = files.enter_context(tempfile.TemporaryFile("w+"))
                with SignalsHeld():
                    try:
                        child = subprocess.Popen(
                            argv,
                            stdin=subprocess.DEVNULL,
                            stdout=out,
                            stderr=err,
                            text=True,
                            cwd=cwd,
                            start_new_session=True,
                        )
                    except FileNotFoundError:
                        hint = f"install {os.path.basename(argv[0])}"
                        raise ToolError(f"program not found: {argv[0]}", hint=hint) from None
                processes.append((argv, child, out, err))
            done = []
            for argv, child, stdout, stderr in processes:
                try:
                    child.wait(timeout=max(0.0, timeout_s - (time.monotonic() - started)))
                except subprocess.TimeoutExpired:
                    raise ToolError(f"timed out after {timeout_s:.0f} s: {' '.join(argv)}") from None
                stdout.seek(0)
                stderr.seek(0)
                wall_s = time.monotonic() - started
                done.append(Completed(argv, child.returncode, stdout.read(), stderr.read(), wall_s))
            return done
        finally:
            for _, child, _, _ in processes:
                if child.poll() is None:  # a deadline or Ctrl-C: no child outlives the call
                    _kill_group(child)


def kill_tree(pid: int, wait_s: float = 15.0) -> None:
    """SIGKILL a process and all its descendants, and wait until they are gone.

    A process group is not enough: fio calls setsid() in every job process it forks, so its jobs
    leave the group of the fio we started and would keep doing IO after it was killed.
    """
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(processes, timeout=wait_s)


def _kill_group(process: subprocess.Popen[str], wait_s: float = 15.0) -> None:
    kill_tree(process.pid, wait_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # anything else left in the child's session
    process.poll()
