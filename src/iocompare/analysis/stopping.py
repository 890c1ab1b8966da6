"""The adaptive stopping rule (METHODOLOGY.md, Statistics) as a pure function of the trials so far.

The runner calls it after every round of a cell: run another round, or stop and say why.
Repeated looks at the data make a fixed-n CI slightly optimistic; the verdict's permutation
test and FDR control, computed once at the end, are what guard against false "faster".
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis import stats
from iocompare.analysis.stats import Interval, RatioEstimate


class Stop(str, enum.Enum):
    CONTINUE = "continue"
    DECIDED = "stop: decided"
    CAP = "stop: cap"
    UNSTABLE = "unstable"


@dataclass(frozen=True)
class StopDecision:
    action: Stop
    reason: str
    estimate: RatioEstimate | None = None


def stopping_decision(
    a: Sequence[float],
    b: Sequence[float] | None = None,
    *,
    min_trials: int = 5,
    cap: int = 20,
    half_width: float = 0.025,
    band: float = 0.05,
    cv_limit: float = 0.10,
    seed: stats.Seed = None,
) -> StopDecision:
    """The adaptive rule: run more trials of a cell, or stop (and why).

    With a baseline `a` and a candidate `b` it judges the CI of the ratio; with `a` alone (a run
    of one environment) the CI of its geometric mean, relative to itself. Widths are on the log
    scale: half-width <= ln(1.025), band = [1/1.05, 1.05].
    """
    groups = [list(a)] + ([list(b)] if b is not None else [])
    n = min(len(g) for g in groups)
    if n < min_trials:
        return StopDecision(Stop.CONTINUE, f"{n} of at least {min_trials} trials")
    if b is not None:
        estimate = stats.ratio_of_geomeans(a, b, seed=seed)
    else:  # the geometric mean of `a` against itself: a ratio of 1 with a's own uncertainty
        logs = np.log(np.asarray(a, dtype=float))
        draws = stats.bootstrap_means(logs, stats.N_BOOT, stats.rng_for(seed)) - logs.mean()
        low, high = stats.percentile_interval(draws, stats.CONFIDENCE)
        estimate = RatioEstimate(1.0, Interval(math.exp(low), math.exp(high)), n, n)
    if estimate.ci is None:  # one trial a side has no interval: only more trials (or the cap) decide
        if n >= cap:
            return StopDecision(Stop.CAP, f"{n} trial(s) reached the cap; too few for a CI", estimate)
        return StopDecision(Stop.CONTINUE, f"{n} trial(s): too few for a CI", estimate)
    lo, hi = math.log(estimate.ci.low), math.log(estimate.ci.high)
    hw, edge = (hi - lo) / 2, math.log1p(band)
    if hw <= math.log1p(half_width):
        return StopDecision(Stop.DECIDED, f"CI half-width ±{math.expm1(hw):.1%} is within ±{half_width:.1%}", estimate)
    if b is not None and (lo >= edge or hi <= -edge):
        return StopDecision(Stop.DECIDED, f"CI lies wholly outside the ±{band:.0%} band", estimate)
    if b is not None and -edge <= lo and hi <= edge:
        return StopDecision(Stop.DECIDED, f"CI lies wholly inside the ±{band:.0%} band", estimate)
    if n >= cap:
        worst = max((stats.cv(g) or 0.0) for g in groups)
        if worst > cv_limit:
            return StopDecision(Stop.UNSTABLE, f"CV {worst:.0%} above {cv_limit:.0%} after {n} trials", estimate)
        return StopDecision(Stop.CAP, f"{n} trials reached the cap", estimate)
    return StopDecision(Stop.CONTINUE, f"CI half-width ±{math.expm1(hw):.1%} after {n} trials", estimate)
