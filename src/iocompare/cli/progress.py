"""Live progress: a rich bar with ETA on a terminal, one line per finished cell otherwise."""

from __future__ import annotations

import sys
from collections import defaultdict

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from iocompare.model import FioResult, Sample, Trial, TrialStatus
from iocompare.spec.expand import Plan
from iocompare.units import format_iops, format_rate


def describe_result(status: TrialStatus, reason: str | None, result: FioResult | None) -> str:
    if status is not TrialStatus.OK or result is None:
        return f"{status.value}: {reason}" if reason else status.value
    text = f"{format_rate(result.total_bw_bps)} {format_iops(result.total_iops)} IOPS"
    return text + (f" ({reason})" if reason else "")


class LineObserver:
    """For logs and pipes: a line when every environment has finished a cell in a round."""

    def __init__(self, plan: Plan, out: Console, skip: frozenset[int] = frozenset()) -> None:
        self._out = out
        self._pending: dict[tuple[int, str], int] = defaultdict(int)
        self._texts: dict[tuple[int, str], list[str]] = defaultdict(list)
        for trial in plan.trials:
            if trial.index not in skip:
                self._pending[(trial.round, trial.cell.key)] += 1
        self._cells_total = len(self._pending)
        self._cells_done = 0
        suite = plan.suite
        self._rounds = f"{suite.repeat}" if suite.max_repeat == suite.repeat else f"{suite.repeat}-{suite.max_repeat}"

    def trial_started(self, trial: Trial) -> None:
        pass

    def sample(self, trial: Trial, sample: Sample) -> None:
        pass

    def trial_finished(self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None) -> None:
        key = (trial.round, trial.cell.key)
        self._texts[key].append(f"{trial.environment} {describe_result(status, reason, result)}")
        self._pending[key] -= 1
        if self._pending[key] == 0:
            self._cells_done += 1
            self._out.print(
                f"[{self._cells_done}/{self._cells_total}] {trial.cell.key} round {trial.round + 1}/{self._rounds}: "
                + "; ".join(self._texts.pop(key)),
                markup=False,
                highlight=False,
            )

    def note(self, message: str) -> None:
        self._out.print(message, markup=False)

    def trials_added(self, trials: list[Trial]) -> None:
        keys = {(trial.round, trial.cell.key) for trial in trials}
        for trial in trials:
            self._pending[(trial.round, trial.cell.key)] += 1
        self._cells_total += len(keys)
        self._out.print(
            f"adaptive: another round for {len({t.cell.key for t in trials})} undecided cell(s)", markup=False
        )

    def close(self) -> None:
        pass


class BarObserver:
    """For terminals: overall bar weighted by fio seconds, with ETA, and the current trial."""

    def __init__(self, plan: Plan, out: Console, skip: frozenset[int] = frozenset()) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=out,
            transient=False,
        )
        self._overall = self._progress.add_task(
            "run", total=sum(t.cell.seconds for t in plan.trials if t.index not in skip)
        )
        self._done_s = 0.0
        self._trials = len(plan.trials)
        self._progress.start()

    def trial_started(self, trial: Trial) -> None:
        self._progress.update(
            self._overall,
            description=f"trial {trial.index + 1}/{self._trials} {trial.environment} {trial.cell.key}",
        )

    def sample(self, trial: Trial, sample: Sample) -> None:
        self._progress.update(self._overall, completed=self._done_s + min(sample.t_s, trial.cell.seconds))

    def trial_finished(self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None) -> None:
        self._done_s += trial.cell.seconds
        self._progress.update(self._overall, completed=self._done_s)
        self._progress.console.print(
            f"  {trial.cell.key} {trial.environment} (round {trial.round + 1}): "
            f"{describe_result(status, reason, result)}",
            markup=False,
            highlight=False,
        )

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False)

    def trials_added(self, trials: list[Trial]) -> None:
        self._trials += len(trials)
        total = self._progress.tasks[0].total or 0
        self._progress.update(self._overall, total=total + sum(t.cell.seconds for t in trials))
        self.note(f"adaptive: another round for {len({t.cell.key for t in trials})} undecided cell(s)")

    def close(self) -> None:
        self._progress.stop()


def make_observer(plan: Plan, out: Console, skip: frozenset[int] = frozenset()) -> LineObserver | BarObserver:
    if out.is_terminal and sys.stdout.isatty():
        return BarObserver(plan, out, skip)
    return LineObserver(plan, out, skip)
