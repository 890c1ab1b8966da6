"""The environment interface and its lifecycle.

An `Environment` lives for a whole run and owns the storage under test (the working-set file,
laid out once and reused). An `Instance` is one fresh incarnation of it (a started container, a
booted VM; for the host, nothing to start) and lives for exactly one trial, as the methodology's
definition of a trial asks.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, Self, TypeVar

from iocompare.engines.fio_binary import FioBinary
from iocompare.environments.shared import SharedWorkingSets
from iocompare.facts import registry as fk
from iocompare.model import FioRun
from iocompare.system.proc import kill_tree
from iocompare.system.resources import RunResources


@dataclass(frozen=True)
class CacheLayer:
    """A cache between fio and the device. A layer that is not bypassed must be outsized by the
    working set (METHODOLOGY.md: at least 2x its RAM), or its cells are refused or labelled."""

    name: str
    ram_bytes: int
    bypassed: bool


@dataclass(frozen=True)
class SpaceNeed:
    """Bytes an environment will write under a host path (the filesystem is found from it)."""

    path: Path
    size_bytes: int
    what: str
    scales_with_working_set: bool = True  # False for fixed costs (images, guest artifacts)
    shared_as: Path | None = None  # a file several environments share: counted once (environments/shared.py)


@dataclass(frozen=True)
class RunContext:
    """What every environment of one run shares."""

    target: Path  # host directory on the filesystem under test
    run_tag: str  # unique per run; every created name carries `iocompare-<run_tag>`
    fio: FioBinary
    # Register everything created here (paths, containers, volumes, processes, mounts), so a run
    # killed by SIGKILL is cleaned up by the next start. Environments call resources.add_*().
    resources: RunResources = field(default_factory=lambda: RunResources("in-memory", persist=False))
    # One working-set file per storage path, shared where environments reach the same one
    # (environments/shared.py); enabled=False gives each environment its own file.
    working_sets: SharedWorkingSets = field(default_factory=SharedWorkingSets)
    # What the run knows about the target beyond the probes: how a prepared target was made
    # (execute/prepared.py). Recorded with every trial on it.
    target_facts: Mapping[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        """The run's directory on the target filesystem (every environment's files are under it)."""
        return self.target / f"iocompare-{self.run_tag}"


Live = TypeVar("Live")


class InstanceLedger(Generic[Live]):
    """The instances an environment has started and not yet removed, written once for every backend:
    each gets the next number (its name, directory and files carry it), and the environment's
    teardown finds whatever a failed or interrupted trial left behind. Instances receive the ledger;
    they never reach into the environment's own state."""

    def __init__(self) -> None:
        self._count = 0
        self._live: dict[int, Live] = {}

    def register(self, item: Live) -> int:
        """Record a started (or about to be started) instance; returns its number, from 1."""
        self._count += 1
        self._live[self._count] = item
        return self._count

    def release(self, index: int) -> None:
        """The instance is gone (removed by its owner)."""
        self._live.pop(index, None)

    def live(self) -> list[Live]:
        """What is still registered, oldest first."""
        return [self._live[index] for index in sorted(self._live)]

    def __contains__(self, index: object) -> bool:
        return index in self._live

    def __len__(self) -> int:
        return len(self._live)


class Instance(abc.ABC):
    """One fresh incarnation of an environment, for one trial."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    @abc.abstractmethod
    def prepare(self) -> Mapping[str, str]:
        """Drop caches where permitted; return facts saying what was done (and what was not)."""

    @abc.abstractmethod
    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        """Run one fio job file; return fio's json+ output and diagnostics."""

    def pids_to_monitor(self) -> Sequence[int]:
        """Host PIDs whose CPU counts as this environment's (fio, VMM, container processes)."""
        return ()

    def after_run_facts(self) -> Mapping[str, str]:
        """Facts known only once fio has finished (e.g. a container cgroup's CPU time)."""
        return {}

    def abort(self) -> None:
        """Stop the running fio now (free space fell below the reserve). Called from the monitor
        thread; run_fio then returns or raises. Default: kill the monitored process trees."""
        for pid in self.pids_to_monitor():
            kill_tree(pid)


class Environment(abc.ABC):
    kind: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, name: str, context: RunContext) -> None:
        self.name = name
        self.context = context
        # The cross-over diagnosis (execute/crossover.py): a host file, laid out already, that the
        # next trials read instead of the environment's own working set. None: its own.
        self.crossover_file: Path | None = None

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        """None when this environment can run on this machine; otherwise why not, in one line."""
        return None

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        """(variant, description) pairs; None is the default variant selected by the bare kind."""
        return ((None, cls.description),)

    def __enter__(self) -> Self:
        self.setup()
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()

    @abc.abstractmethod
    def setup(self) -> None:
        """Create what the environment needs for the run (scratch directory, images, disks)."""

    @abc.abstractmethod
    def teardown(self) -> None:
        """Remove everything setup and the instances created. Idempotent; safe after a failure."""

    @abc.abstractmethod
    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        """Lay out the working-set file once (sequential write, end_fsync) and reuse it."""

    @abc.abstractmethod
    def working_set_path(self, size_bytes: int) -> str:
        """The working-set file's path as fio inside the environment sees it."""

    @abc.abstractmethod
    def instance(self) -> Instance:
        """A fresh instance for one trial (use as a context manager)."""

    @abc.abstractmethod
    def facts(self) -> Mapping[str, str]:
        """Storage stack, versions, cache modes: recorded with every trial of this environment."""

    @abc.abstractmethod
    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        """The caches between fio and the device for this IO mode."""

    @property
    @abc.abstractmethod
    def host_storage_path(self) -> Path:
        """Host path of the storage under test: for free-space sampling and disk counters."""

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        """What this environment will write on which filesystem, at its peak."""
        return (SpaceNeed(self.context.target, working_set_bytes, f"{self.name}: working set"),)

    def working_set_facts(self, size_bytes: int) -> Mapping[str, str]:
        """After the layout: the working set's host file and its extents (none where it has no host file)."""
        return {}

    def crossover_unreachable(self) -> str | None:
        """Why this environment cannot read a given host file as its working set (the cross-over
        diagnosis); None when it can. Environments that can override this."""
        return f"{self.name} has no way to read another environment's working-set file"

    def read_host_file(self, path: Path | None) -> None:
        """From the next trial on, read the host file `path` as the working set (None: its own)."""
        if path is not None and self.crossover_unreachable() is not None:
            raise ValueError(f"{self.name} cannot read {path}: {self.crossover_unreachable()}")
        self.crossover_file = path

    def logical_block_size(self) -> int | None:
        return fk.LOGICAL_BLOCK_SIZE.get(self.facts())
