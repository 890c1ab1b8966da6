"""The group-sequential test: looks at a cell's comparison after the pilot and at planned points up
to the cap, each against a boundary from a Lan-DeMets alpha-spending function, so that looking
several times spends no more than alpha in total (docs/statistics.md, "Group-sequential stopping").

A look k at n_k trials a side has information fraction t_k = n_k / n_max. The spending function
alpha(t) says how much of the two-sided alpha may have been spent by then; the boundary c_k is
the z with P(|Z_1| < c_1, ..., |Z_{k-1}| < c_{k-1}, |Z_k| >= c_k) = alpha(t_k) - alpha(t_{k-1})
under no difference, where (Z_1, ..., Z_K) are the look statistics of one growing sample: jointly
normal, corr(Z_i, Z_j) = sqrt(t_i / t_j). scipy.stats gives the quantiles and the multivariate
normal probabilities; the boundaries are found by root finding on them and cached per design.

At a look the cell's log ratio gets a repeated confidence interval, estimate +- c_k x its
standard error (Welch, with the t quantile matched to the normal one): all of a cell's repeated
intervals cover the true ratio together with probability 1 - alpha, so stopping on any of them
(wholly outside or inside the noise band) keeps its error rate, however many looks are made.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis.stats import Interval
from iocompare.spec.models import SequentialRule, Spending


def spent(spending: Spending, t: float, alpha: float) -> float:
    """Alpha spent by information fraction t (Lan-DeMets): O'Brien-Fleming-like
    2 - 2 Phi(z_{alpha/2} / sqrt t), strict early and close to alpha at the end; Pocock-like
    alpha ln(1 + (e - 1) t), about equal boundaries at every look."""
    from scipy import stats as sps

    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    if spending is Spending.OBRIEN_FLEMING:
        return float(2 - 2 * sps.norm.cdf(sps.norm.ppf(1 - alpha / 2) / math.sqrt(t)))
    return alpha * math.log(1 + (math.e - 1) * t)


@dataclass(frozen=True)
class GroupSequential:
    looks: tuple[int, ...]  # trials a side at each look, increasing; the last is the cap
    boundaries: tuple[float, ...]  # z boundary per look
    alpha: float
    spending: Spending

    def boundary_at(self, n: int) -> float | None:
        """The boundary of the look at n trials a side; None between looks (no decision then)."""
        if n >= self.looks[-1]:
            return self.boundaries[-1]
        for look, c in zip(self.looks, self.boundaries, strict=True):
            if look == n:
                return c
        return None

    def describe(self) -> str:
        shown = ", ".join(f"{n}: {c:.2f}" for n, c in zip(self.looks, self.boundaries, strict=True))
        return f"group-sequential, {self.spending.value} alpha spending (alpha {self.alpha:g}; z at n = {shown})"


def design(
    first: int, last: int, every: int, *, alpha: float = 0.05, spending: Spending = Spending.POCOCK
) -> GroupSequential:
    """The looks and boundaries for a cell with a pilot of `first` trials and a cap of `last`."""
    looks = SequentialRule(look_every=every).looks(first, last)
    return GroupSequential(looks, _boundaries(looks, alpha, spending), alpha, spending)


def for_suite(rule: SequentialRule, repeat: int, max_repeat: int) -> GroupSequential:
    return design(repeat, max_repeat, rule.look_every, alpha=rule.alpha, spending=rule.spending)


_PRECISION = {"maxpts": 50_000, "abseps": 1e-5, "releps": 1e-4}


@functools.lru_cache(maxsize=64)
def _boundaries(looks: tuple[int, ...], alpha: float, spending: Spending) -> tuple[float, ...]:
    from scipy import stats as sps

    fractions = [n / looks[-1] for n in looks]
    found = [float(sps.norm.ppf(1 - spent(spending, fractions[0], alpha) / 2))]  # one look: a normal quantile
    rng = np.random.default_rng(20261202)  # the multivariate normal's quasi-Monte Carlo, replayable
    for k in range(1, len(fractions)):
        target = spent(spending, fractions[k], alpha) - spent(spending, fractions[k - 1], alpha)
        found.append(_next_boundary(fractions[: k + 1], found, target, rng))
    return tuple(found)


NO_CROSSING_Z = 12.0  # a boundary no look statistic reaches: nothing left to spend


def _next_boundary(
    fractions: Sequence[float], earlier: Sequence[float], target: float, rng: np.random.Generator
) -> float:
    """The z at the last of `fractions` that spends `target` more alpha after the `earlier` boundaries."""
    from scipy import optimize
    from scipy import stats as sps

    k = len(earlier)
    corr = np.array([[math.sqrt(min(a, b) / max(a, b)) for b in fractions] for a in fractions])
    before = np.asarray(earlier, dtype=float)
    none_before = _inside(sps.multivariate_normal(np.zeros(k), corr[:k, :k], seed=rng, **_PRECISION), before)
    mvn = sps.multivariate_normal(np.zeros(k + 1), corr, allow_singular=True, seed=rng, **_PRECISION)

    def excess(c: float) -> float:  # alpha this boundary would spend, beyond the target
        return none_before - _inside(mvn, np.append(before, c)) - target

    if target <= 0 or excess(NO_CROSSING_Z) > 0:
        return NO_CROSSING_Z
    return float(optimize.brentq(excess, 0.5, NO_CROSSING_Z, xtol=1e-3))


def _inside(mvn: object, bounds: np.ndarray) -> float:
    """P(|Z_i| < bounds_i for every i) of a centred multivariate normal."""
    if bounds.size == 1:
        from scipy import stats as sps

        return float(2 * sps.norm.cdf(bounds[0]) - 1)
    return float(mvn.cdf(bounds, lower_limit=-bounds))  # type: ignore[attr-defined]


def log_ratio_z(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(log of the ratio of geometric means b / a, its Welch standard error)."""
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    se = math.sqrt(float(la.var(ddof=1)) / la.size + float(lb.var(ddof=1)) / lb.size)
    return float(lb.mean() - la.mean()), se


def repeated_interval(a: Sequence[float], b: Sequence[float], z: float) -> Interval:
    """The repeated confidence interval of b / a at a look whose boundary is z.

    The normal boundary is carried to Student's t (same tail probability) with min(n_a, n_b) - 1
    degrees of freedom, the conservative choice: with Welch's degrees of freedom a simulated A/A
    cell looked at 6 times from 5 to 20 trials was called at 5.4 % for an alpha of 5 %, with
    these at 4.1 % (tests/unit/test_sequential.py), because the variance estimates of the looks
    are not independent increments as the normal theory assumes."""
    from scipy import stats as sps

    estimate, se = log_ratio_z(a, b)
    if se == 0:
        return Interval(math.exp(estimate), math.exp(estimate))
    dof = min(len(a), len(b)) - 1
    quantile = float(sps.t.ppf(sps.norm.cdf(z), dof))
    return Interval(math.exp(estimate - quantile * se), math.exp(estimate + quantile * se))


def look_confidence(z: float) -> float:
    """The two-sided confidence of a look's repeated interval taken alone (z 1.96 -> 0.95)."""
    from scipy import stats as sps

    return float(2 * sps.norm.cdf(z) - 1)
