"""Expand a suite into cells and interleaved trials.

Rounds are outermost and, within a round, the order of environments is shuffled per cell, so
slow drift of the machine (thermal, background load, SSD garbage collection) hits every
environment evenly instead of biasing whichever ran last (METHODOLOGY.md, Statistics).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from iocompare.model import Cell, Trial
from iocompare.spec.models import Suite
from iocompare.spec.net_expand import network_cells
from iocompare.spec.targets import environment_labels

ENGINE_MARK = "+"  # rand-read+io_uring: the workload rand-read run with io_uring


@dataclass(frozen=True)
class Plan:
    suite: Suite
    cells: tuple[Cell, ...]
    environments: tuple[str, ...]
    trials: tuple[Trial, ...]
    run_seed: int

    @property
    def fio_seconds(self) -> int:
        """Ramp plus runtime over all trials: the floor of any run's wall time."""
        return sum(trial.cell.seconds for trial in self.trials)


def expand_cells(suite: Suite) -> tuple[Cell, ...]:
    cells = []
    engines = suite.engines()
    for workload in suite.workloads:
        if workload.pattern.network:
            cells.extend(network_cells(suite, workload))
            continue
        for engine, block_size in ((e, b) for e in engines for b in suite.block_sizes_of(workload)):
            cells.append(
                Cell(
                    # With several engines the engine is part of the workload: its curves, keys and verdicts.
                    workload=workload.name if len(engines) == 1 else f"{workload.name}{ENGINE_MARK}{engine.value}",
                    pattern=workload.pattern,
                    block_size_bytes=block_size,
                    iodepth=workload.depth_for(block_size),
                    numjobs=workload.numjobs,
                    read_percent=workload.effective_read_percent(),
                    ioengine=engine.value,
                    direct=suite.direct,
                    runtime_s=suite.runtime_s,
                    ramp_s=suite.ramp_s,
                    working_set_bytes=suite.working_set.size,
                )
            )
    return tuple(cells)


def expand(suite: Suite, *, run_seed: int) -> Plan:
    cells = expand_cells(suite)
    # With several targets every environment runs on each: the labels are env@target.
    environments = environment_labels(suite.environments, suite.target_texts(""))
    rng = random.Random(run_seed)
    trials: list[Trial] = []
    for round_index in range(suite.repeat):
        for cell in cells:
            order = list(environments)
            rng.shuffle(order)
            for environment in order:
                # fio's randseed is a 64-bit value; recorded per trial so a run can be replayed.
                seed = rng.getrandbits(63) or 1
                trials.append(Trial(len(trials), round_index, cell, environment, seed))
    return Plan(suite, cells, environments, tuple(trials), run_seed)
