"""The 2x2 cross-over diagnosis of a faster-than-host finding: environment x working-set file.

When a candidate environment reads faster than the baseline, the difference may follow the
environment (its IO path) or the file it read (where the file's blocks lie on the device, what
a lower cache holds of them). `iocompare diagnose` (execute/crossover.py) has each of the two
environments read both files, interleaved; this module says which factor the throughput follows.

On the log scale, with B/C the baseline and candidate environments and b/c the baseline's and
the candidate's files, each main effect is a ratio of geometric means averaged over the other
factor (the design is balanced, so each effect is free of the other):

- environment effect = sqrt((C on b / B on b) x (C on c / B on c));
- file effect        = sqrt((B on c / B on b) x (C on c / C on b)).

An effect counts when its 95 % bootstrap CI (analysis/stats.py, each of the four groups
resampled on its own) excludes 1 and it is at least the noise threshold (compare.Policy), the
same two bars a "faster" verdict clears. Neither: "inconclusive".
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from iocompare.analysis import stats
from iocompare.analysis.compare import Policy, signed_pct
from iocompare.analysis.stats import Interval, SampleSummary
from iocompare.model import Cell, Trial, TrialStatus
from iocompare.store.records import StoredRun


class Finding(str, enum.Enum):
    FILE = "follows the file (placement or a lower cache)"
    ENVIRONMENT = "follows the environment"
    BOTH = "both"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class CrossoverValues:
    """Throughput (bytes/s) of every successful trial, per environment and file."""

    baseline_on_baseline_file: tuple[float, ...]
    baseline_on_candidate_file: tuple[float, ...]
    candidate_on_baseline_file: tuple[float, ...]
    candidate_on_candidate_file: tuple[float, ...]

    def groups(self) -> tuple[tuple[float, ...], ...]:
        return (
            self.baseline_on_baseline_file,
            self.baseline_on_candidate_file,
            self.candidate_on_baseline_file,
            self.candidate_on_candidate_file,
        )


@dataclass(frozen=True)
class Condition:
    """One of the four combinations: an environment reading one of the two files."""

    environment: str
    file_owner: str  # whose file: the baseline's or the candidate's environment name

    @property
    def name(self) -> str:
        """The stored environment name, e.g. `podman/host-file` (podman reading the host's file)."""
        return f"{self.environment}/{self.file_owner}-file"


@dataclass(frozen=True)
class CrossoverDesign:
    cell: Cell
    baseline: str
    candidate: str
    rounds: int

    def conditions(self) -> tuple[Condition, Condition, Condition, Condition]:
        """In CrossoverValues.groups() order (the baseline on its own file first: the report's baseline)."""
        b, c = self.baseline, self.candidate
        return (Condition(b, b), Condition(b, c), Condition(c, b), Condition(c, c))

    def trials(self, run_seed: int) -> tuple[Trial, ...]:
        bb, bc, cb, cc = self.conditions()
        rng = random.Random(run_seed)
        trials: list[Trial] = []
        for round_index in range(self.rounds):
            order = [bb, cc, bc, cb] if round_index % 2 == 0 else [cb, bc, cc, bb]
            for condition in order:
                seed = rng.getrandbits(63) or 1  # fio's randseed, recorded per trial
                trials.append(Trial(len(trials), round_index, self.cell, condition.name, seed))
        return tuple(trials)


def design_of(run: StoredRun) -> CrossoverDesign | None:
    """The design a stored diagnosis run was made with (its `diagnosis_of` setting); None for any other run."""
    of = run.settings.get("diagnosis_of")
    if not isinstance(of, dict) or len(run.cells) != 1:
        return None
    try:
        design = CrossoverDesign(run.cells[0], str(of["baseline"]), str(of["candidate"]), int(of["rounds"]))
    except (KeyError, TypeError, ValueError):
        return None
    return design if all(c.name in run.environments for c in design.conditions()) else None


def values_of(run: StoredRun, design: CrossoverDesign) -> CrossoverValues:
    """The four groups of throughputs of a stored diagnosis run."""
    names = [c.name for c in design.conditions()]
    groups: dict[str, list[float]] = {name: [] for name in names}
    for stored in run.trials:
        result = stored.result
        if stored.status is TrialStatus.OK and result is not None and result.total_bw_bps > 0:
            groups.setdefault(stored.trial.environment, []).append(result.total_bw_bps)
    return CrossoverValues(*(tuple(groups[name]) for name in names))


# Weights on the four groups' mean log throughput, in CrossoverValues.groups() order.
ENVIRONMENT_WEIGHTS = (-0.5, -0.5, 0.5, 0.5)
FILE_WEIGHTS = (-0.5, 0.5, -0.5, 0.5)
INTERACTION_WEIGHTS = (1.0, -1.0, -1.0, 1.0)  # how much the environment effect differs by file


@dataclass(frozen=True)
class Effect:
    ratio: float
    ci: Interval | None
    counts: bool  # CI excludes 1 and the effect is at least the noise threshold

    def describe(self) -> str:
        """'+45 % (CI +30 to +60 %)', or '+3 % (no CI: too few trials)'."""
        if self.ci is None:
            return f"{signed_pct(self.ratio)} % (no CI: too few trials)"
        return f"{signed_pct(self.ratio)} % (CI {signed_pct(self.ci.low)} to {signed_pct(self.ci.high)} %)"


@dataclass(frozen=True)
class Diagnosis:
    summaries: tuple[SampleSummary | None, ...]  # CrossoverValues.groups() order; None: no trial
    environment: Effect | None  # None: a group has no successful trial
    file: Effect | None
    interaction: Effect | None
    finding: Finding
    reason: str


def _effect(groups: Sequence[Sequence[float]], weights: Sequence[float], policy: Policy, salt: int) -> Effect:
    ratio, ci = stats.log_contrast(
        groups, weights, confidence=policy.confidence, n_boot=policy.n_boot, seed=[policy.seed, salt]
    )
    counts = ci is not None and not ci.contains(1.0) and abs(math.log(ratio)) >= policy.log_band
    return Effect(ratio, ci, counts)


def diagnose(values: CrossoverValues, policy: Policy = Policy()) -> Diagnosis:
    groups = values.groups()
    summaries = tuple(stats.summarise(g, seed=policy.seed) if g else None for g in groups)
    if any(len(g) == 0 for g in groups):
        return Diagnosis(
            summaries, None, None, None, Finding.INCONCLUSIVE, "a combination of environment and file has no result"
        )
    environment = _effect(groups, ENVIRONMENT_WEIGHTS, policy, 1)
    file = _effect(groups, FILE_WEIGHTS, policy, 2)
    interaction = _effect(groups, INTERACTION_WEIGHTS, policy, 3)
    if environment.counts and file.counts:
        finding, reason = Finding.BOTH, "the environment and the file each change the throughput"
    elif environment.counts:
        finding, reason = Finding.ENVIRONMENT, "the candidate environment is faster on either file"
    elif file.counts:
        finding, reason = Finding.FILE, "either environment is faster on the same file"
    elif min(len(g) for g in groups) < 2:
        finding, reason = Finding.INCONCLUSIVE, "fewer than two trials in a combination: no confidence interval"
    else:
        finding = Finding.INCONCLUSIVE
        reason = f"neither effect is both beyond the noise threshold ({policy.noise:.0%}) and clear of 1 in its CI"
    return Diagnosis(summaries, environment, file, interaction, finding, reason)
