"""Shared fixtures. Integration tests use the real fio; the unit tier needs nothing special."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "unit"))  # builders.py for every tier

TINY_SUITE = """
name = "tiny"
runtime_s = 1
ramp_s = 0
repeat = {repeat}
max_repeat = {repeat}
environments = {environments}

[working_set]
size = "32m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]

[[workloads]]
name = "seq-write"
pattern = "seq-write"
block_sizes = ["1m"]
"""


@pytest.fixture
def tiny_suite(tmp_path: Path):
    """Write a short suite file (1 s trials, 32 MiB working set) and return its path."""

    def make(repeat: int = 1, environments: tuple[str, ...] = ("host",)) -> Path:
        path = tmp_path / "tiny.toml"
        envs = "[" + ", ".join(f'"{e}"' for e in environments) + "]"
        path.write_text(TINY_SUITE.format(repeat=repeat, environments=envs))
        return path

    return make


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run manifests (crash recovery) of each test go to a directory of its own."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("IOCOMPARE_STATE_DIR", str(path))
    return path


@pytest.fixture
def isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database path of the test's own; IOCOMPARE_DB is pointed at it."""
    path = tmp_path / "db" / "results.db"
    monkeypatch.setenv("IOCOMPARE_DB", str(path))
    return path
