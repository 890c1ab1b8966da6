"""Real filesystems, devices and processes for the space and lifecycle tests (root only: CI is root)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def loop_ext4(tmp_path: Path, size_mib: int) -> Iterator[Path]:
    """An ext4 filesystem of `size_mib` on a loop device, mounted under tmp_path."""
    image, mount = tmp_path / "fs.img", tmp_path / "mnt"
    mount.mkdir()
    subprocess.run(["truncate", "-s", f"{size_mib}M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@contextlib.contextmanager
def loop_device(tmp_path: Path, size_mib: int) -> Iterator[Path]:
    image = tmp_path / "dev.img"
    subprocess.run(["truncate", "-s", f"{size_mib}M", str(image)], check=True)
    device = subprocess.run(
        ["losetup", "--find", "--show", str(image)], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        yield Path(device)
    finally:
        subprocess.run(["losetup", "-d", device], check=False)


def start_iocompare(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "iocompare", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def iocompare(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iocompare", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def stored_trials(db: Path) -> int:
    if not db.exists():
        return 0
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        try:
            return conn.execute("SELECT count(*) FROM trials").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def wait_for(condition, timeout: float = 60, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def fio_processes_using(path: Path) -> list[int]:
    """PIDs of fio processes whose command line or open files mention `path`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.joinpath("comm").read_text().strip() != "fio":
                continue
            if entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # dead; only unreaped because this sandbox's init does not reap orphans
            links = [os.readlink(fd) for fd in entry.joinpath("fd").iterdir()]
            cmdline = entry.joinpath("cmdline").read_text()
        except OSError:
            continue
        if str(path) in cmdline or any(str(path) in link for link in links):
            pids.append(int(entry.name))
    return pids


def interrupt(process: subprocess.Popen[str], sig: signal.Signals) -> tuple[int, str, str]:
    status = Path(f"/proc/{process.pid}/status").read_text()
    masks = [line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        ps = subprocess.run(
            ["ps", "-eo", "pid,ppid,pgid,sid,stat,wchan:20,comm"], capture_output=True, text=True
        ).stdout
        masks.append("\n".join(line for line in ps.splitlines() if "fio" in line or "python" in line))
        process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        out, err = process.communicate()
        raise AssertionError(f"iocompare did not stop on {sig.name} ({masks}):\n{err[-6000:]}") from None
    return process.returncode, out, err
