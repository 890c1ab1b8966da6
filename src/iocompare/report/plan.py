"""What `iocompare run --dry-run` shows: cells, trials, estimated duration and disk space."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from iocompare.analysis.baseline import kind_of
from iocompare.environments.shared import reaches_shared_file
from iocompare.spec.design import cost_range, describe_design
from iocompare.spec.expand import Plan
from iocompare.store.records import STORED_BYTES_PER_TRIAL
from iocompare.units import format_duration, format_size

# Estimates, deliberately pessimistic: fio start-up, cache drop and storing per trial, a slow
# sequential layout of each working set.
OVERHEAD_PER_TRIAL_S = 0.5
# Start-up of one fresh instance per trial, by environment kind, as measured on the build machines
# (a TCG guest boot is the slow one; under KVM it is a few seconds less).
STARTUP_S = {"podman": 1.0, "docker": 1.0, "qemu": 7.0, "firecracker": 3.0}


def _startup_s(environment: str) -> float:
    return OVERHEAD_PER_TRIAL_S + STARTUP_S.get(kind_of(environment), 0.0)


LAYOUT_BPS = 500 << 20


@dataclass(frozen=True)
class Estimate:
    duration_s: float  # the planned rounds only (every cell decided at `repeat`)
    max_duration_s: float  # every cell run to the cap (`max_repeat`)
    trials: int
    max_trials: int
    scratch_bytes: int  # on the target filesystem, peak
    database_bytes: int  # at the cap

    @property
    def adaptive(self) -> bool:
        return self.max_trials > self.trials


def estimate(plan: Plan) -> Estimate:
    sizes = {cell.working_set_bytes for cell in plan.cells}
    per_environment = sum(sizes)
    sharing = [e for e in plan.environments if plan.suite.working_set.shared and reaches_shared_file(e)]
    files = len(plan.environments) - len(sharing) + (1 if sharing else 0)  # one shared file for them all
    layout_s = files * per_environment / LAYOUT_BPS
    suite = plan.suite
    extra_rounds = suite.max_repeat - suite.repeat
    per_round_trials = len(plan.cells) * len(plan.environments)
    # start-up happens inside the settle time: a trial waits for whichever is longer
    startup = {env: max(_startup_s(env), suite.settle_s) for env in plan.environments}
    per_round_s = len(plan.environments) * sum(c.seconds for c in plan.cells) + len(plan.cells) * sum(startup.values())
    minimum = plan.fio_seconds + sum(startup[t.environment] for t in plan.trials) + layout_s
    max_trials = len(plan.trials) + extra_rounds * per_round_trials
    return Estimate(
        duration_s=minimum,
        max_duration_s=minimum + extra_rounds * per_round_s,
        trials=len(plan.trials),
        max_trials=max_trials,
        scratch_bytes=per_environment * files,
        database_bytes=STORED_BYTES_PER_TRIAL * max_trials,
    )


def rounds_text(plan: Plan) -> str:
    suite = plan.suite
    if suite.max_repeat == suite.repeat:
        return f"{suite.repeat} repetition(s), fixed"
    return f"{suite.repeat} to {suite.max_repeat} repetitions (adaptive: undecided cells get more rounds)"


def duration_line(plan: Plan) -> str:
    """'estimated duration: 6m24s to 25m36s (...)': from every cell decided at `repeat` to every
    cell run to the cap, so an adaptive run never takes longer than its plan said."""
    est = estimate(plan)
    if not est.adaptive:
        return f"estimated duration: {format_duration(est.duration_s)} for {est.trials} trials"
    return (
        f"estimated duration: {format_duration(est.duration_s)} to {format_duration(est.max_duration_s)} "
        f"({est.trials} to {est.max_trials} trials, as the cells are decided or reach the cap)"
    )


def print_plan(plan: Plan, out: Console, *, target: str, db: str, notes: tuple[str, ...] = ()) -> None:
    """`notes`: lines about how the command line changed the suite (filters, trial counts)."""
    suite = plan.suite
    table = Table(
        "cell", "pattern", "block size", "iodepth", "numjobs", "read %", "trials", title=f"plan: suite {suite.name}"
    )
    for cell in plan.cells:
        trials = sum(1 for trial in plan.trials if trial.cell == cell)
        at_cap = trials // suite.repeat * suite.max_repeat
        shown = str(trials) if at_cap == trials else f"{trials}-{at_cap}"
        table.add_row(
            cell.key,
            cell.pattern.value,
            format_size(cell.block_size_bytes),
            str(cell.iodepth),
            str(cell.numjobs),
            "-" if cell.read_percent is None else str(cell.read_percent),
            shown,
        )
    out.print(table)
    est = estimate(plan)
    total = str(est.trials) if not est.adaptive else f"{est.trials} to {est.max_trials}"
    out.print(
        f"{len(plan.cells)} cells x {len(plan.environments)} environment(s) ({', '.join(plan.environments)}) "
        f"x {rounds_text(plan)} = {total} trials",
        markup=False,
    )
    maximum = "at most " if suite.steady_state is not None else ""
    engines = " and ".join(e.value for e in suite.engines())
    for note in notes:
        out.print(note, markup=False)
    storage = f"{engines}, direct={int(suite.direct)}; working set {format_size(suite.working_set.size)}"
    # A network trial: the ramp is iperf3's omitted seconds; nothing is written to storage.
    load = "iperf3 (ramp omitted from its sums) and sockperf; no working set" if suite.network else storage
    out.print(f"each trial: ramp {suite.ramp_s} s + runtime {maximum}{suite.runtime_s} s, {load}", markup=False)
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
        f"{duration_line(plan)}; fio alone: {format_duration(plan.fio_seconds)} for the planned rounds", markup=False
    )
    out.print(
        f"disk space: {format_size(est.scratch_bytes)} scratch under {target}, "
        f"about {format_size(est.database_bytes)} in {db}",
        markup=False,
    )
