"""Helpers shared by the benchmarks: run the real CLI as a user would, and time it."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IOCOMPARE = [sys.executable, "-m", "iocompare"]


def iocompare(*args: str, timeout_s: float = 3600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*IOCOMPARE, *args], capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise SystemExit(
            f"iocompare {' '.join(args)} failed ({done.returncode}):\n{done.stderr}\n{done.stdout[-2000:]}"
        )
    return done


def json_report(db: Path, run: str = "latest") -> dict:
    return json.loads(iocompare("report", run, "--db", str(db), "--format", "json").stdout)


def median(values: list[float]) -> float:
    return statistics.median(values)
