"""Live progress: a rich bar with ETA on a terminal, one line per finished cell otherwise.

Adaptive runs are shown at their cap, never their minimum: the totals count every round still
possible ("round 3 of ≤ 20"), and shrink as cells are decided, so the ETA is an upper bound that
only ever comes down instead of a figure that jumps when another round is added."""

from __future__ import annotations

import sys
from collections import defaultdict

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from iocompare.model import FioResult, Sample, Trial, TrialStatus
from iocompare.spec.expand import Plan
from iocompare.system.safe_text import escape
from iocompare.units import format_iops, format_rate


def describe_result(status: TrialStatus, reason: str | None, result: FioResult | None) -> str:
    if status is not TrialStatus.OK or result is None:
        return f"{status.value}: {reason}" if reason else status.value
    text = f"{format_rate(result.total_bw_bps)} {format_iops(result.total_iops)} IOPS"
    return text + (f" ({reason})" if reason else "")


class Budget:
    """The most the run can still take: planned trials plus every adaptive round still possible
    for the cells not yet decided (decided cells drop out as the runner stops adding rounds)."""

    def __init__(self, plan: Plan, skip: frozenset[int] = frozenset()) -> None:
        self.cap = plan.suite.max_repeat
        self.fixed = plan.suite.max_repeat == plan.suite.repeat
        self._envs = len(plan.environments)
        self._cells = {c.key: c for c in plan.cells}
        extra_rounds = self.cap - plan.suite.repeat
        planned = [t for t in plan.trials if t.index not in skip]
        self.trials = len(planned) + extra_rounds * self._envs * len(plan.cells)
        self.seconds = sum(t.cell.seconds for t in planned) + extra_rounds * self._envs * sum(
            c.seconds for c in plan.cells
        )
        self._decided: set[str] = set()

    def round_text(self, round_index: int) -> str:
        return f"round {round_index + 1} of {'' if self.fixed else '≤ '}{self.cap}"

    def trials_text(self, done: int) -> str:
        return f"{done}/{'' if self.fixed else '≤'}{self.trials}"

    def round_added(self, trials: list[Trial]) -> None:
        """Round r was added for the cells in `trials`: the others were decided at r and will not
        run rounds r .. cap-1."""
        if not trials:
            return
        round_index = trials[0].round
        pending = {t.cell.key for t in trials}
        for key, cell in self._cells.items():
            if key in pending or key in self._decided:
                continue
            self._decided.add(key)
            rounds = max(0, self.cap - round_index)
            self.trials -= rounds * self._envs
            self.seconds -= rounds * self._envs * cell.seconds


class LineObserver:
    """For logs and pipes: a line when every environment has finished a cell in a round."""

    def __init__(self, plan: Plan, out: Console, skip: frozenset[int] = frozenset()) -> None:
        self._out = out
        self._pending: dict[tuple[int, str], int] = defaultdict(int)
        self._texts: dict[tuple[int, str], list[str]] = defaultdict(list)
        for trial in plan.trials:
            if trial.index not in skip:
                self._pending[(trial.round, trial.cell.key)] += 1
        self._cells_done = 0
        self._trials_done = 0
        self._budget = Budget(plan, skip)

    def trial_started(self, trial: Trial) -> None:
        pass

    def sample(self, trial: Trial, sample: Sample) -> None:
        pass

    def trial_finished(self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None) -> None:
        key = (trial.round, trial.cell.key)
        self._texts[key].append(f"{trial.environment} {describe_result(status, reason, result)}")
        self._pending[key] -= 1
        self._trials_done += 1
        if self._pending[key] == 0:
            self._cells_done += 1
            self._out.print(
                f"[trials {self._budget.trials_text(self._trials_done)}] {trial.cell.key} "
                f"{self._budget.round_text(trial.round)}: " + "; ".join(self._texts.pop(key)),
                markup=False,
                highlight=False,
            )

    def note(self, message: str) -> None:
        self._out.print(message, markup=False)

    def trials_added(self, trials: list[Trial]) -> None:
        for trial in trials:
            self._pending[(trial.round, trial.cell.key)] += 1
        self._budget.round_added(trials)
        self._out.print(
            f"adaptive: {self._budget.round_text(trials[0].round if trials else 0)} for "
            f"{len({t.cell.key for t in trials})} undecided cell(s); at most {self._budget.trials} trials in all",
            markup=False,
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
            TextColumn("ETA" if plan.suite.max_repeat == plan.suite.repeat else "ETA ≤"),
            TimeRemainingColumn(),
            console=out,
            transient=False,
        )
        self._budget = Budget(plan, skip)
        self._overall = self._progress.add_task("run", total=self._budget.seconds)
        self._done_s = 0.0
        self._done = 0
        self._progress.start()

    def trial_started(self, trial: Trial) -> None:
        self._progress.update(
            self._overall,
            # rich formats the description itself, not through the console's render_str: escaped here
            description=escape(
                f"{self._budget.round_text(trial.round)}, trial {self._budget.trials_text(self._done + 1)} "
                f"{trial.environment} {trial.cell.key}"
            ).replace("[", "\\["),
        )

    def sample(self, trial: Trial, sample: Sample) -> None:
        self._progress.update(self._overall, completed=self._done_s + min(sample.t_s, trial.cell.seconds))

    def trial_finished(self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None) -> None:
        self._done_s += trial.cell.seconds
        self._done += 1
        self._progress.update(self._overall, completed=self._done_s)
        self._progress.console.print(
            f"  {trial.cell.key} {trial.environment} ({self._budget.round_text(trial.round)}): "
            f"{describe_result(status, reason, result)}",
            markup=False,
            highlight=False,
        )

    def note(self, message: str) -> None:
        self._progress.console.print(message, markup=False)

    def trials_added(self, trials: list[Trial]) -> None:
        self._budget.round_added(trials)
        self._progress.update(self._overall, total=self._budget.seconds)
        self.note(
            f"adaptive: {self._budget.round_text(trials[0].round if trials else 0)} for "
            f"{len({t.cell.key for t in trials})} undecided cell(s)"
        )

    def close(self) -> None:
        self._progress.stop()


def make_observer(plan: Plan, out: Console, skip: frozenset[int] = frozenset()) -> LineObserver | BarObserver:
    if out.is_terminal and sys.stdout.isatty():
        return BarObserver(plan, out, skip)
    return LineObserver(plan, out, skip)
