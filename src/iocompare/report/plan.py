"""What `iocompare run --dry-run` shows: cells, trials, estimated duration and disk space."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from iocompare.environments.shared import reaches_shared_file
from iocompare.spec.design import cost_range, describe_design
from iocompare.spec.expand import Plan
from iocompare.store.records import STORED_BYTES_PER_TRIAL
from iocompare.units import format_duration, format_size

# Estimates, deliberately pessimistic: fio start-up, cache drop and storing per trial, a slow
# sequential layout of each working set.
OVERHEAD_PER_TRIAL_S = 0.5
LAYOUT_BPS = 500 << 20


@dataclass(frozen=True)
class Estimate:
    duration_s: float
    scratch_bytes: int  # on the target filesystem, peak
    database_bytes: int


def estimate(plan: Plan) -> Estimate:
    sizes = {cell.working_set_bytes for cell in plan.cells}
    per_environment = sum(sizes)
    sharing = [e for e in plan.environments if plan.suite.working_set.shared and reaches_shared_file(e)]
    files = len(plan.environments) - len(sharing) + (1 if sharing else 0)  # one shared file for them all
    layout_s = files * per_environment / LAYOUT_BPS
    per_trial_s = max(OVERHEAD_PER_TRIAL_S, plan.suite.settle_s)  # start-up happens inside the settle time
    return Estimate(
        duration_s=plan.fio_seconds + per_trial_s * len(plan.trials) + layout_s,
        scratch_bytes=per_environment * files,
        database_bytes=STORED_BYTES_PER_TRIAL * len(plan.trials),
    )


def print_plan(plan: Plan, out: Console, *, target: str, db: str) -> None:
    suite = plan.suite
    table = Table(
        "cell", "pattern", "block size", "iodepth", "numjobs", "read %", "trials", title=f"plan: suite {suite.name}"
    )
    for cell in plan.cells:
        trials = sum(1 for trial in plan.trials if trial.cell == cell)
        table.add_row(
            cell.key,
            cell.pattern.value,
            format_size(cell.block_size_bytes),
            str(cell.iodepth),
            str(cell.numjobs),
            "-" if cell.read_percent is None else str(cell.read_percent),
            str(trials),
        )
    out.print(table)
    est = estimate(plan)
    out.print(
        f"{len(plan.cells)} cells x {len(plan.environments)} environment(s) ({', '.join(plan.environments)}) "
        f"x {suite.repeat} repetition(s) = {len(plan.trials)} trials",
        markup=False,
    )
    maximum = "at most " if suite.steady_state is not None else ""
    out.print(
        f"each trial: ramp {suite.ramp_s} s + runtime {maximum}{suite.runtime_s} s, {suite.ioengine.value}, "
        f"direct={int(suite.direct)}; working set {format_size(suite.working_set.size)}",
        markup=False,
    )
    out.print(describe_design(suite), markup=False)
    cost = cost_range(plan)
    layout_s = est.duration_s - plan.fio_seconds - OVERHEAD_PER_TRIAL_S * len(plan.trials)
    wall_min = cost.fio_s_min + OVERHEAD_PER_TRIAL_S * cost.trials_min + layout_s
    wall_max = cost.fio_s_max + OVERHEAD_PER_TRIAL_S * cost.trials_max + layout_s
    out.print(
        f"expected cost: {cost.trials_min}-{cost.trials_max} trials, fio {format_duration(cost.fio_s_min)} to "
        f"{format_duration(cost.fio_s_max)}; wall about {format_duration(wall_min)} to {format_duration(wall_max)}",
        markup=False,
    )
    out.print(
        f"estimated duration of the planned rounds: {format_duration(est.duration_s)} "
        f"(fio alone: {format_duration(plan.fio_seconds)})",
        markup=False,
    )
    out.print(
        f"disk space: {format_size(est.scratch_bytes)} scratch under {target}, "
        f"about {format_size(est.database_bytes)} in {db}",
        markup=False,
    )
