"""The experimental design of a suite in words, and what it can cost: the dry run and the report
state both, so nobody starts a run without knowing its range."""

from __future__ import annotations

from dataclasses import dataclass

from iocompare.model import SteadyState
from iocompare.spec.expand import Plan
from iocompare.spec.models import Suite


@dataclass(frozen=True)
class CostRange:
    """Fio-seconds (ramp + measured runtime over all trials) from best to worst case."""

    trials_min: int  # the planned rounds only: every cell decided after them
    trials_max: int  # every cell runs to max_repeat
    fio_s_min: int  # trials_min, each ended at the earliest steady state
    fio_s_max: int  # trials_max, each at its maximum runtime


def trial_seconds(suite: Suite) -> tuple[int, int]:
    """Shortest and longest trial (ramp + measured seconds) the suite allows.

    With the steady-state rule fio takes its first per-second rate ss_ramp + 1 s into the measured
    part and needs `window_s` of them, so a trial measures at least ss_ramp + window s.
    """
    longest = suite.ramp_s + suite.runtime_s
    if suite.steady_state is None:
        return longest, longest
    earliest = SteadyState.start_s(suite.ramp_s) + suite.steady_state.window_s
    return suite.ramp_s + min(suite.runtime_s, earliest), longest


def cost_of(suite: Suite, *, per_round: int, planned: int) -> CostRange:
    """The range for `per_round` trials a round (cells x environments) and `planned` trials in
    the planned rounds: the dry run's plan, or a stored run's cells and environments."""
    shortest, longest = trial_seconds(suite)
    most = max(planned, per_round * suite.max_repeat)
    return CostRange(planned, most, planned * shortest, most * longest)


def cost_range(plan: Plan) -> CostRange:
    per_round = len(plan.cells) * len(plan.environments)
    return cost_of(plan.suite, per_round=per_round, planned=len(plan.trials))


@dataclass(frozen=True)
class Design:
    """The design of a suite in the parts every format states: its name, trials per environment
    and cell (n range), how long a trial is, and the rule that stops a cell."""

    name: str
    n_min: int
    n_max: int
    trial_length: str
    stopping_rule: str

    def line(self) -> str:
        return f"design: {self.name}, {self.trial_length}; {self.stopping_rule}"


def design_of(suite: Suite) -> Design:
    if suite.steady_state is None:
        length = f"fixed trials of ramp {suite.ramp_s} s + runtime {suite.runtime_s} s"
    else:
        rule = suite.steady_state
        length = (
            f"trials of ramp {suite.ramp_s} s + at most {suite.runtime_s} s, ended once steady "
            f"(bandwidth slope under {rule.slope_percent:g} %/s over {rule.window_s} s)"
        )
    if suite.max_repeat <= suite.repeat:
        name = "fixed n"
        repeats = f"{suite.repeat} trials per environment and cell, no adaptive rounds"
    elif suite.sequential is not None:
        gs = suite.sequential
        name = f"group-sequential ({gs.spending.value} alpha spending)" + (
            " with futility stop" if suite.stop_futile else ""
        )
        looks = ", ".join(map(str, gs.looks(suite.repeat, suite.max_repeat)))
        futility = "; undecidable cells stopped after the pilot" if suite.stop_futile else ""
        repeats = (
            f"{suite.repeat} to {suite.max_repeat} trials per environment and cell, looks at n = {looks}, each "
            f"judged by its repeated CI (Lan-DeMets {gs.spending.value} boundary, alpha {gs.alpha:g} over all "
            f"looks){futility}"
        )
    else:
        name = "adaptive" + (" with futility stop" if suite.stop_futile else "")
        futility = ", undecidable cells stopped after the pilot" if suite.stop_futile else ""
        repeats = (
            f"{suite.repeat} trials per environment and cell, then rounds while the CI is undecided "
            f"up to {suite.max_repeat}{futility}"
        )
    return Design(name, suite.repeat, max(suite.repeat, suite.max_repeat), length, repeats)


def describe_design(suite: Suite) -> str:
    """One line: the design's name, trial length, repetitions and the stopping rule."""
    return design_of(suite).line()


def stored_suite(suite_json: str) -> Suite | None:
    """A stored run's suite; None for a run without one (an import) or one no longer valid."""
    try:
        return Suite.model_validate_json(suite_json)
    except ValueError:
        return None


def stored_design(suite_json: str) -> str | None:
    """The design line of a stored run's suite; None for a run without one (an import)."""
    suite = stored_suite(suite_json)
    return None if suite is None else describe_design(suite)
