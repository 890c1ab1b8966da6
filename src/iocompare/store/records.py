"""What the store hands back: frozen records rebuilt from SQLite rows."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iocompare.model import Cell, FioResult, Trial, TrialStatus

# What one trial costs the database, deliberately pessimistic: the zlib-compressed json+ output,
# the rendered job and the monitor series (the space plan reserves this per planned trial).
STORED_BYTES_PER_TRIAL = 64 << 10


class RunStatus(str, enum.Enum):
    RUNNING = "running"  # created, not finished (or the process died before finishing)
    COMPLETE = "complete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class RunInfo:
    """One line of `iocompare runs`."""

    id: int
    name: str
    created_at: float  # epoch seconds
    finished_at: float | None
    status: RunStatus
    suite_name: str
    environments: tuple[str, ...]  # in the order the run was planned with
    trials_ok: int
    trials_total: int  # trials recorded so far, any status


@dataclass(frozen=True)
class StoredTrial:
    id: int
    trial: Trial
    status: TrialStatus
    reason: str | None
    started_at: float
    ended_at: float
    wall_s: float | None  # fio's own wall time (FioRun.wall_s), None when fio never ran
    facts: dict[str, str]
    result: FioResult | None
    fio_exit_code: int | None = None
    fio_argv: tuple[str, ...] | None = None


@dataclass(frozen=True)
class StoredRun:
    info: RunInfo
    settings: dict[str, Any]
    suite_json: str
    host_facts: dict[str, str]
    environments: dict[str, tuple[str, dict[str, str]]]  # name -> (kind, facts), planned order
    cells: list[Cell]
    trials: list[StoredTrial]  # by trial index


def by_cell_and_environment(trials: Iterable[StoredTrial]) -> dict[tuple[str, str], list[StoredTrial]]:
    """Stored trials grouped by (cell key, environment), each group in trial order: the one grouping
    every statistic, check and report is computed over."""
    groups: dict[tuple[str, str], list[StoredTrial]] = {}
    for stored in sorted(trials, key=lambda t: t.trial.index):
        groups.setdefault((stored.trial.cell.key, stored.trial.environment), []).append(stored)
    return groups
