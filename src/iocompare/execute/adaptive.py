"""Adaptive repetition: after the planned rounds, cells whose comparison is not yet decided get
another round (every environment of the cell, interleaved in a fresh random order), until the
stopping rule of METHODOLOGY.md says stop or the suite's cap is reached."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocompare.analysis import sequential
from iocompare.analysis.baseline import default_baseline
from iocompare.analysis.stopping import Stop, StopDecision, stopping_decision
from iocompare.model import Cell, Trial
from iocompare.spec.models import Suite


@dataclass(frozen=True)
class CellDecision:
    cell: Cell
    decision: StopDecision


def decide(
    suite: Suite, cells: Sequence[Cell], environments: Sequence[str], values: Mapping[tuple[str, str], Sequence[float]]
) -> list[CellDecision]:
    """One decision per cell: the most undecided of its comparisons against the baseline."""
    baseline = default_baseline(environments)
    if baseline is None:
        return [CellDecision(cell, StopDecision(Stop.DECIDED, "no environment to compare")) for cell in cells]
    others = [e for e in environments if e != baseline]
    rule = suite.sequential
    design = None if rule is None else sequential.for_suite(rule, suite.repeat, suite.max_repeat)
    out = []
    for cell in cells:
        a = list(values.get((cell.key, baseline), ()))
        pairs: list[tuple[list[float], list[float] | None]] = [
            (a, list(values.get((cell.key, other), ()))) for other in others
        ] or [(a, None)]
        decisions = []
        for base_values, other_values in pairs:
            if not base_values or (other_values is not None and not other_values):
                # nothing measurable (refused, not applicable or failing): more rounds cannot help
                decisions.append(StopDecision(Stop.DECIDED, "no successful trials to compare"))
                continue
            decisions.append(
                stopping_decision(
                    base_values,
                    other_values,
                    min_trials=suite.repeat,
                    cap=suite.max_repeat,
                    futility=suite.stop_futile,
                    sequential=design,
                    seed=[len(base_values), 7],
                )
            )
        pending = [d for d in decisions if d.action is Stop.CONTINUE]
        out.append(CellDecision(cell, pending[0] if pending else decisions[0]))
    return out


def extra_round(
    cells: Sequence[Cell], environments: Sequence[str], *, round_index: int, first_index: int, run_seed: int
) -> list[Trial]:
    rng = random.Random(f"{run_seed}:{round_index}")  # deterministic per run and round
    trials: list[Trial] = []
    for cell in cells:
        order = list(environments)
        rng.shuffle(order)
        for environment in order:
            trials.append(Trial(first_index + len(trials), round_index, cell, environment, rng.getrandbits(63) or 1))
    return trials
