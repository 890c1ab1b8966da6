"""The adaptive stopping rule (METHODOLOGY.md, Statistics) as a pure function of the trials so far.

The runner calls it after every round of a cell: run another round, or stop and say why.
Repeated looks at the data make a fixed-n CI slightly optimistic; the verdict's permutation
test and FDR control, computed once at the end, are what guard against false "faster".

Futility (pilot sizing): once the pilot trials are in, the trials a side the CI would need to
decide are estimated from the cell's own noise; when that is beyond the cap, more rounds would
be spent on a cell that stays inconclusive, so it stops now. Stopping for futility never makes
a verdict, so it cannot add false ones.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis import stats
from iocompare.analysis.sequential import GroupSequential, look_confidence, repeated_interval
from iocompare.analysis.stats import Interval, RatioEstimate


class Stop(str, enum.Enum):
    CONTINUE = "continue"
    DECIDED = "stop: decided"
    CAP = "stop: cap"
    UNSTABLE = "unstable"
    FUTILE = "stop: futile"


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
    futility: bool = False,
    sequential: GroupSequential | None = None,
    seed: stats.Seed = None,
) -> StopDecision:
    """The adaptive rule: run more trials of a cell, or stop (and why).

    With a baseline `a` and a candidate `b` it judges the CI of the ratio; with `a` alone (a run
    of one environment) the CI of its geometric mean, relative to itself. Widths are on the log
    scale: half-width <= ln(1.025), band = [1/1.05, 1.05].

    With `sequential` (a comparison of two groups) the cell is looked at only at the design's
    looks, and judged by its repeated confidence interval there (analysis/sequential.py) instead
    of the fixed-n CI, so that stopping at any look keeps the error rate at the design's alpha.
    """
    groups = [list(a)] + ([list(b)] if b is not None else [])
    n = min(len(g) for g in groups)
    if n < min_trials:
        return StopDecision(Stop.CONTINUE, f"{n} of at least {min_trials} trials")
    boundary = sequential.boundary_at(n) if sequential is not None and b is not None else None
    if sequential is not None and b is not None and boundary is None:
        return StopDecision(Stop.CONTINUE, f"{n} trials: between two looks of the group-sequential design")
    if b is not None:
        estimate = stats.ratio_of_geomeans(a, b, seed=seed)
        if boundary is not None and estimate.ci is not None:  # the repeated CI of this look decides
            interval = repeated_interval(a, b, boundary)
            estimate = RatioEstimate(estimate.ratio, interval, estimate.n_a, estimate.n_b, look_confidence(boundary))
    else:  # the geometric mean of `a` against itself: a ratio of 1 with a's own uncertainty
        logs = np.log(np.asarray(a, dtype=float))
        draws = stats.bootstrap_means(logs, stats.N_BOOT, stats.rng_for(seed)) - logs.mean()
        low, high = stats.percentile_interval(draws, stats.CONFIDENCE)
        estimate = RatioEstimate(1.0, Interval(math.exp(low), math.exp(high)), n, n)
    if estimate.ci is None:  # one trial a side has no interval: only more trials (or the cap) decide
        if n >= cap:
            return StopDecision(Stop.CAP, f"{n} trial(s) reached the cap; too few for a CI", estimate)
        return StopDecision(Stop.CONTINUE, f"{n} trial(s): too few for a CI", estimate)
    ci = "CI" if boundary is None else f"repeated CI (look at {n} trials, z {boundary:.2f})"
    lo, hi = math.log(estimate.ci.low), math.log(estimate.ci.high)
    hw, edge = (hi - lo) / 2, math.log1p(band)
    if hw <= math.log1p(half_width):
        text = f"{ci} half-width ±{math.expm1(hw):.1%} is within ±{half_width:.1%}"
        return StopDecision(Stop.DECIDED, text, estimate)
    if b is not None and (lo >= edge or hi <= -edge):
        return StopDecision(Stop.DECIDED, f"{ci} lies wholly outside the ±{band:.0%} band", estimate)
    if b is not None and -edge <= lo and hi <= edge:
        return StopDecision(Stop.DECIDED, f"{ci} lies wholly inside the ±{band:.0%} band", estimate)
    if futility and n < cap:
        needed = trials_needed(groups, band=band, half_width=half_width)
        if needed > cap:
            return StopDecision(
                Stop.FUTILE,
                f"its noise needs about {needed} trials a side to decide, beyond the cap of {cap}",
                estimate,
            )
    if n >= cap:
        worst = max((stats.cv(g) or 0.0) for g in groups)
        if worst > cv_limit:
            return StopDecision(Stop.UNSTABLE, f"CV {worst:.0%} above {cv_limit:.0%} after {n} trials", estimate)
        return StopDecision(Stop.CAP, f"{n} trials reached the cap", estimate)
    return StopDecision(Stop.CONTINUE, f"CI half-width ±{math.expm1(hw):.1%} after {n} trials", estimate)


Z_95 = 1.959964  # two-sided 95 % normal quantile: the CI half-width is about Z x its standard error


def trials_needed(groups: Sequence[Sequence[float]], *, band: float = 0.05, half_width: float = 0.025) -> int:
    """Trials a side after which the ratio's CI would be expected to decide, from the noise so far.

    On the log scale the CI half-width with n trials a side is about Z * s * sqrt(2 / n) (s the
    pooled standard deviation of the logs; sqrt(1 / n) with one group). It decides once that is
    within the half-width target, or the distance of the estimate from the band edge (then the
    CI lies wholly on one side of it). A large number: the cell is too noisy for its effect.
    """
    logs = [np.log(np.asarray(g, dtype=float)) for g in groups]
    dof = sum(x.size - 1 for x in logs)
    if dof <= 0:
        return 0
    s = math.sqrt(sum(float(((x - x.mean()) ** 2).sum()) for x in logs) / dof)
    if s == 0:
        return 0
    margins = [math.log1p(half_width)]
    if len(logs) == 2:
        distance = abs(float(logs[1].mean() - logs[0].mean()))
        margins.append(abs(distance - math.log1p(band)))
    margin = max(margins)
    if margin <= 0:
        return 1 << 30
    factor = 2.0 if len(logs) == 2 else 1.0
    return math.ceil(factor * (Z_95 * s / margin) ** 2)
