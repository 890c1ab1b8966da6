"""Shared by the planted-damage tests: a sentinel tree hashed byte for byte, a foreign process,
a program that would leave a trace if anything ran it, and the damaged files themselves."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEAD_PID = 2**22 + 7  # above the default pid_max: no process has it


def tree_hash(root: Path) -> str:
    """Every entry under `root`: relative path, type, mode and bytes (a symlink's target, not its file)."""
    digest = hashlib.sha256()
    for path in sorted([root, *root.rglob("*")]):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}\0{info.st_mode}\0".encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def make_sentinel(root: Path) -> Path:
    """A directory of files iocompare did not make, including one that looks like a run's directory."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "keep.txt").write_text("not iocompare's\n")
    (root / "sub").mkdir()
    (root / "sub" / "data.bin").write_bytes(bytes(range(256)))
    (root / "iocompare-deadbeef").mkdir()  # the name of a run's directory, without the marker
    (root / "iocompare-deadbeef" / "file").write_text("unmarked\n")
    (root / ".iocompare.lock").write_text("not json\n")
    return root


@dataclass(frozen=True)
class Foreign:
    """A process iocompare did not start for the run (a `sleep` of the test's own)."""

    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


def foreign_process() -> Iterator[Foreign]:
    process = subprocess.Popen(["sleep", "300"])
    try:
        yield Foreign(process)
    finally:
        process.kill()
        process.wait()


def trap_program(directory: Path) -> tuple[Path, Path]:
    """(program, trace): the program creates `trace` when anything executes it."""
    trace = directory / "EXECUTED"
    program = directory / "trap.sh"
    program.write_text(f"#!/bin/sh\ntouch {trace}\n")
    program.chmod(0o755)
    return program, trace


def manifest(resources: list[dict[str, object]], **fields: object) -> str:
    data: dict[str, object] = {"run_tag": "deadbeef", "pid": DEAD_PID, "pid_start": "1", "resources": resources}
    data.update(fields)
    return json.dumps(data)


def plant_manifest(state: Path, text: str | bytes, name: str = "deadbeef.json") -> Path:
    runs = state / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    path = runs / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path
