"""The host side of the guest protocol (see iocompare/environments/microvm/guest_init.py), shared by QEMU and
Firecracker: start the VMM with the guest's serial console on its stdin/stdout, wait for
markers, send commands, move the job and the result over the control disk, and make sure the
VMM never outlives its owner.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import signal
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from iocompare.environments.microvm.guest_init import (
    CONTROL_DISK_BYTES,
    CONTROL_JOB_OFFSET,
    CONTROL_LABEL,
    CONTROL_RESULT_OFFSET,
    MARKER,
)
from iocompare.errors import ToolError

CONSOLE_TAIL_LINES = 25
_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_prctl: Callable[..., int] | None

try:  # resolved here, so the child between fork and exec only makes the call
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # pragma: no cover - not glibc/Linux
    _prctl = None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The VMM gets SIGKILL when iocompare dies, even by SIGKILL, so no VM outlives a run."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class GuestFailure(ToolError):
    """A VM that did not boot, died, or failed a command. `console` holds the whole console log
    (up to CONSOLE_KEEP_CHARS), for a runner to store with the trial as its diagnostic."""

    def __init__(self, message: str, console: str) -> None:
        super().__init__(message)
        self.console = console


CONSOLE_KEEP_CHARS = 256 * 1024


@dataclass(frozen=True)
class Marker:
    name: str
    args: str


class GuestSession:
    """One running VMM process whose stdin/stdout are the guest's serial console."""

    def __init__(self, argv: Sequence[str], *, console_log: Path, label: str) -> None:
        self.argv = tuple(str(a) for a in argv)
        self.console_log = console_log
        self.label = label
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._lines: list[str] = []
        self._stderr = bytearray()
        self._markers: list[Marker] = []
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> int:
        self.started_at = time.monotonic()
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except FileNotFoundError:
            raise ToolError(f"program not found: {self.argv[0]}") from None
        self._threads = [
            threading.Thread(target=self._read_console, name=f"iocompare-{self.label}-console", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"iocompare-{self.label}-stderr", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self.process.pid

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, *, graceful_s: float = 5.0) -> None:
        """Power the guest off (bounded wait), then kill the VMM's process group. Idempotent."""
        process = self.process
        if process is None:
            return
        if process.poll() is None and graceful_s > 0:
            with contextlib.suppress(OSError, ToolError):
                self.send("off")
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=graceful_s)
        self.kill()

    def kill(self) -> None:
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # --- console ---------------------------------------------------------------------------
    def _read_console(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with open(self.console_log, "ab") as log:
            for raw in iter(self.process.stdout.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip("\r\n")
                with self._cond:
                    self._lines.append(line)
                    position = line.find(MARKER + " ")
                    if position != -1:
                        name, _, args = line[position + len(MARKER) + 1 :].partition(" ")
                        self._markers.append(Marker(name, args.strip()))
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.process is not None
        stderr = self.process.stderr
        assert isinstance(stderr, io.BufferedReader)  # stderr=PIPE, default bufsize: buffered binary
        for chunk in iter(lambda: stderr.read1(4096), b""):
            with self._cond:
                self._stderr += chunk
                self._cond.notify_all()

    @property
    def stderr(self) -> str:
        with self._cond:
            return self._stderr.decode(errors="replace")

    def console_tail(self, lines: int = CONSOLE_TAIL_LINES) -> str:
        with self._cond:
            return "\n".join(self._lines[-lines:])

    def diagnostics(self) -> str:
        with self._cond:  # an RLock: callable while holding it
            stderr = self._stderr.decode(errors="replace").strip()
            tail = "\n".join(self._lines[-CONSOLE_TAIL_LINES:])
        parts = [f"{self.label} stderr: {stderr[-1500:]}"] if stderr else []
        parts.append(
            f"console (last {CONSOLE_TAIL_LINES} lines):\n{tail}" if tail.strip() else "console: (nothing printed)"
        )
        return "\n".join(parts)

    def failure(self, message: str) -> GuestFailure:
        """An error carrying the VMM's stderr and the console tail in its message, the whole
        console log in its `console` attribute."""
        with self._cond:
            console = "\n".join(self._lines)[-CONSOLE_KEEP_CHARS:]
        return GuestFailure(f"{message}\n{self.diagnostics()}", console)

    def send(self, line: str) -> None:
        if self.process is None or self.process.stdin is None:
            raise ToolError(f"{self.label} is not running")
        try:
            self.process.stdin.write((line + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise self.failure(f"{self.label}: cannot write to the guest console ({exc})") from None

    def wait_for(self, name: str, *, timeout_s: float, what: str, fail_if: Callable[[str], bool] | None = None) -> str:
        """Wait for the guest's `@@IOC <name> ...` marker; return its arguments.

        Raises ToolError with the console tail when the time runs out, the VMM exits, the guest
        reports a fatal error, or `fail_if(stderr)` says the VMM failed.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for index, marker in enumerate(self._markers):
                    if marker.name == name:
                        del self._markers[: index + 1]
                        return marker.args
                    if marker.name == "fatal":
                        raise self.failure(f"{self.label} guest failed {what}: {marker.args}")
                exited = self.process is None or self.process.poll() is not None
                failed = fail_if is not None and fail_if(self._stderr.decode(errors="replace"))
                remaining = deadline - time.monotonic()
                if exited or failed or remaining <= 0:
                    if exited:
                        cause = f"exited with code {self.process.returncode if self.process else '?'}"
                    elif failed:
                        cause = "failed"
                    else:
                        cause = f"timed out after {timeout_s:.0f} s"
                    raise self.failure(f"{self.label} {cause} {what}")
                self._cond.wait(timeout=min(remaining, 0.5))

    def command(self, line: str, *, timeout_s: float) -> tuple[bool, str]:
        """Send a command, wait for its answer; (ok, details)."""
        name = line.split(" ", 1)[0]
        self.send(line)
        args = self.wait_for(name, timeout_s=timeout_s, what=f"answering {name!r}")
        status, _, details = args.partition(" ")
        return status in ("ok", "done"), details.strip()


# --- control disk ---------------------------------------------------------------------------


def create_control_disk(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.write(CONTROL_LABEL.encode().ljust(512, b"\0"))
        handle.truncate(CONTROL_DISK_BYTES)  # sparse


def write_job(path: Path, job_text: str) -> None:
    """The job archive on the control disk (the guest untars job.fio from it)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        data = job_text.encode()
        info = tarfile.TarInfo("job.fio")
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        archive.addfile(info, io.BytesIO(data))
    blob = buffer.getvalue()
    if CONTROL_JOB_OFFSET + len(blob) > CONTROL_RESULT_OFFSET:
        raise ToolError(f"fio job of {len(job_text)} characters does not fit the control disk")
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, blob, CONTROL_JOB_OFFSET)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_result(path: Path) -> dict[str, str]:
    """The files of the guest's result archive (out.json, stderr.txt, stdout.txt, rc)."""
    files: dict[str, str] = {}
    with open(path, "rb") as handle:
        handle.seek(CONTROL_RESULT_OFFSET)
        try:
            with tarfile.open(fileobj=handle, mode="r|") as archive:
                for member in archive:
                    extracted = archive.extractfile(member) if member.isfile() else None
                    if extracted is not None:
                        files[member.name.lstrip("./")] = extracted.read().decode(errors="replace")
        except tarfile.TarError as exc:
            raise ToolError(f"the guest's result archive on the control disk is unreadable: {exc}") from None
    return files


# --- host CPU of the VMM's threads ----------------------------------------------------------


def thread_cpu_seconds(pid: int) -> dict[int, tuple[str, float]]:
    """tid -> (thread name, user+system CPU seconds) for every thread of `pid`."""
    threads: dict[int, tuple[str, float]] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return threads
    for tid in tids:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        threads[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS)
    return threads


def cpu_delta(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], is_vcpu: Callable[[str], bool]
) -> dict[str, str]:
    """Facts: CPU seconds the VMM used between two snapshots, all threads and vCPU threads."""
    total = vcpu = 0.0
    vcpus = 0
    for tid, (name, seconds) in after.items():
        used = seconds - before.get(tid, (name, 0.0))[1]
        total += used
        if is_vcpu(name):
            vcpu += used
            vcpus += 1
    return {
        "vmm_cpu_s": f"{total:.2f}",
        "vcpu_cpu_s": f"{vcpu:.2f}",
        "vmm_other_cpu_s": f"{total - vcpu:.2f}",
        "vcpu_threads": str(vcpus),
    }
