"""Pure statistics over repeated trials: summaries, bootstrap CIs, permutation tests, FDR.

The resampling and the false discovery control are scipy.stats' (`bootstrap`,
`permutation_test`, `false_discovery_control`); this module chooses their settings and adds
what a verdict needs on top: the log scale, a group order that makes A/B and B/A exact
reciprocals, and a tie tolerance on the scale of the values. Every
function is deterministic given a seed (numpy's PCG64 `Generator`). Methods, and why they were
chosen, are written down in docs/statistics.md:

- confidence intervals are percentile bootstrap intervals (resampling each group on its own);
- the ratio of two environments is the ratio of geometric means, bootstrapped on the log scale;
- the p-value is a two-sided permutation test of the difference in log means: exact
  enumeration up to `EXACT_LIMIT` partitions, Monte Carlo with a seed beyond that;
- Benjamini-Hochberg controls the false discovery rate across all cells compared.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from types import ModuleType

CONFIDENCE = 0.95
N_BOOT = 4000  # bootstrap resamples; the CI ends move by well under 0.5 % between seeds at n = 5
N_PERMUTATIONS = 4999  # Monte Carlo permutations beyond EXACT_LIMIT: smallest p = 1/5000 < 0.05/100 cells
EXACT_LIMIT = 20_000  # enumerate every partition up to this many (C(10, 5) = 252, C(16, 8) = 12,870)
DEFAULT_SEED = 0x10C0  # "ioco"; any fixed value: results must not depend on the clock
# Statistics equal up to rounding count as ties: within 1e-9 of the values' scale. Partitions can
# tie exactly in the reals (the same values swapped, or 1 x 6 = 2 x 3 on the log scale) while
# their float sums differ in the last bits.
TIE_TOLERANCE = 1e-9

Seed = int | Sequence[int] | np.random.Generator | None


def _scipy_stats() -> ModuleType:
    """scipy.stats, imported on first use: it takes about a second to import, which `iocompare
    run` would otherwise pay at start-up before the first trial (the harness overhead)."""
    from scipy import stats

    module: ModuleType = stats
    return module


def rng_for(seed: Seed) -> np.random.Generator:
    """A Generator from an int, a sequence of ints (e.g. [base seed, cell hash]) or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(DEFAULT_SEED if seed is None else seed)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def map(self, fn: Callable[[float], float]) -> Interval:
        a, b = fn(self.low), fn(self.high)
        return Interval(min(a, b), max(a, b))


@dataclass(frozen=True)
class SampleSummary:
    """Descriptive summary of one group of trial values (one cell, one environment, one metric)."""

    n: int
    median: float
    mean: float
    mean_ci: Interval | None  # 95 % percentile bootstrap CI of the mean; None below two values
    geomean: float | None  # None when a value is not positive
    cv: float | None  # sample standard deviation / mean; None below two values
    min: float
    max: float


@dataclass(frozen=True)
class RatioEstimate:
    """Geometric mean of B over geometric mean of A, with a bootstrap CI (A is the baseline)."""

    ratio: float
    ci: Interval | None  # None when either group has fewer than two values
    n_a: int
    n_b: int
    confidence: float = CONFIDENCE

    @property
    def log_half_width(self) -> float | None:
        """Half the CI's width on the log scale: ln(1.025) means "+-2.5 %"."""
        if self.ci is None:
            return None
        return (math.log(self.ci.high) - math.log(self.ci.low)) / 2

    def reciprocal(self) -> RatioEstimate:
        ci = None if self.ci is None else Interval(1 / self.ci.high, 1 / self.ci.low)
        return RatioEstimate(1 / self.ratio, ci, self.n_b, self.n_a, self.confidence)


def _array(values: Sequence[float]) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("need a non-empty sequence of numbers")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"values must be finite: {values!r}")
    return x


def _logs(values: Sequence[float]) -> np.ndarray:
    x = _array(values)
    if np.any(x <= 0):
        raise ValueError(f"values must be positive for a ratio of geometric means: {values!r}")
    return np.asarray(np.log(x))


def percentile_interval(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1 - confidence) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return float(low), float(high)


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(x, axis=axis))


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.asarray(np.mean(y, axis=axis) - np.mean(x, axis=axis))


def bootstrap_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_boot` resamples (with replacement) of `x` (scipy's bootstrap distribution)."""
    if x.size < 2:
        return np.full(n_boot, float(x.mean()))
    result = _scipy_stats().bootstrap(
        (x,), _mean, n_resamples=n_boot, method="percentile", vectorized=True, batch=n_boot, rng=rng
    )
    return np.asarray(result.bootstrap_distribution)


def summarise(
    values: Sequence[float], *, confidence: float = CONFIDENCE, n_boot: int = N_BOOT, seed: Seed = None
) -> SampleSummary:
    x = _array(values)
    n = x.size
    mean = float(x.mean())
    ci = None
    cv = None
    if n > 1:
        ci = Interval(*percentile_interval(bootstrap_means(x, n_boot, rng_for(seed)), confidence))
        cv = float(x.std(ddof=1) / mean) if mean else None
    geomean = float(np.exp(np.log(x).mean())) if np.all(x > 0) else None
    return SampleSummary(n, float(np.median(x)), mean, ci, geomean, cv, float(x.min()), float(x.max()))


def _canonical(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """The two groups in an order that does not depend on which one is the baseline.

    Random draws are made for the first group first; ordering the groups by content means
    swapping A and B replays exactly the same resamples, so the CI of B/A is the reciprocal of
    the CI of A/B and the p-value is identical (the symmetry the verdicts promise).
    """
    key_a = (a.size, tuple(np.sort(a)))
    key_b = (b.size, tuple(np.sort(b)))
    return (b, a, True) if key_b < key_a else (a, b, False)


def bootstrap_log_ratios(
    a: Sequence[float], b: Sequence[float], *, n_boot: int = N_BOOT, seed: Seed = None
) -> np.ndarray:
    """Bootstrap draws of ln(geomean(B) / geomean(A)), each group resampled on its own."""
    # Sorted: the order of trials within a group does not matter to a resample, and sorting
    # makes the draws a function of the values alone.
    la, lb = np.sort(_logs(a)), np.sort(_logs(b))
    first, second, swapped = _canonical(la, lb)
    result = _scipy_stats().bootstrap(
        (first, second),
        _mean_difference,
        n_resamples=n_boot,
        method="percentile",
        vectorized=True,
        batch=n_boot,
        rng=rng_for(seed),
    )
    draws = np.asarray(result.bootstrap_distribution)  # mean(second) - mean(first)
    if swapped:
        draws = -draws
    if np.array_equal(la, lb):
        # Identical groups have no canonical order; their bootstrap distribution is symmetric
        # about 0 by exchangeability, so use both signs: the CI is then exactly reciprocal.
        half = draws[: n_boot // 2]
        draws = np.concatenate([half, -half, np.zeros(n_boot % 2)])
    return draws


def ratio_of_geomeans(
    a: Sequence[float], b: Sequence[float], *, confidence: float = CONFIDENCE, n_boot: int = N_BOOT, seed: Seed = None
) -> RatioEstimate:
    """geomean(B) / geomean(A) with a percentile bootstrap CI computed on the log scale."""
    la, lb = _logs(a), _logs(b)
    ratio = math.exp(float(lb.mean() - la.mean()))
    ci = None
    if la.size > 1 and lb.size > 1:
        low, high = percentile_interval(bootstrap_log_ratios(a, b, n_boot=n_boot, seed=seed), confidence)
        ci = Interval(math.exp(low), math.exp(high))
    return RatioEstimate(ratio, ci, la.size, lb.size, confidence)


def log_contrast(
    groups: Sequence[Sequence[float]],
    weights: Sequence[float],
    *,
    confidence: float = CONFIDENCE,
    n_boot: int = N_BOOT,
    seed: Seed = None,
) -> tuple[float, Interval | None]:
    """exp(sum of weight x mean(ln group)) and its percentile bootstrap CI, each group resampled
    on its own (scipy's bootstrap of the mean, per group): a ratio of geometric means across
    several groups, e.g. a main effect of a 2x2 design with weights (-1/2, -1/2, +1/2, +1/2).
    The CI is None when a group has fewer than two values."""
    if len(groups) != len(weights) or not groups:
        raise ValueError("need one weight per group")
    logs = [_logs(group) for group in groups]
    estimate = math.exp(sum(w * float(x.mean()) for w, x in zip(weights, logs, strict=True)))
    if min(x.size for x in logs) < 2:
        return estimate, None
    rng = rng_for(seed)
    draws = sum(w * bootstrap_means(np.sort(x), n_boot, rng) for w, x in zip(weights, logs, strict=True))
    low, high = percentile_interval(np.asarray(draws), confidence)
    return estimate, Interval(math.exp(low), math.exp(high))


def permutation_pvalue(
    a: Sequence[float],
    b: Sequence[float],
    *,
    exact_limit: int = EXACT_LIMIT,
    n_permutations: int = N_PERMUTATIONS,
    seed: Seed = None,
) -> float:
    """Two-sided permutation p-value of |mean(ln B) - mean(ln A)| (scipy's `permutation_test`).

    Exact (every partition of the pooled values, the observed one included) when there are at
    most `exact_limit` partitions; otherwise Monte Carlo with `(1 + hits) / (1 + n_permutations)`,
    which is a valid p-value (never 0) [Phipson & Smyth 2010].
    """
    la, lb = np.sort(_logs(a)), np.sort(_logs(b))
    first, second, _ = _canonical(la, lb)
    # scipy counts null >= observed - 100 eps |observed|: a tolerance relative to the statistic,
    # which is ~0 exactly where ties matter. A constant offset leaves the order of the statistics
    # unchanged and turns that tolerance into TIE_TOLERANCE x the scale of the values.
    scale = float(np.abs(np.concatenate([first, second])).max()) + 1e-300
    offset = TIE_TOLERANCE * scale / (100 * np.finfo(float).eps)

    def shifted_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.abs(np.mean(y, axis=axis) - np.mean(x, axis=axis)) + offset)

    if min(first.size, second.size) < 2:
        # scipy refuses a side of one value; the exact test is then a handful of partitions
        return _exact_small_pvalue(first, second)
    if math.comb(first.size + second.size, first.size) <= exact_limit:
        result = _scipy_stats().permutation_test(
            (first, second),
            shifted_difference,
            permutation_type="independent",
            vectorized=True,
            n_resamples=np.inf,
            alternative="greater",
        )
        return float(result.pvalue)
    return _monte_carlo_pvalue(first, second, n_permutations, rng_for(seed))


def _monte_carlo_pvalue(first: np.ndarray, second: np.ndarray, n_permutations: int, rng: np.random.Generator) -> float:
    """Monte Carlo permutation p-value, `(1 + hits) / (1 + n_permutations)`.

    By hand because scipy 1.17's `permutation_test` draws each random permutation in its own
    Python call: 28 ms for 25 + 25 trials against 4.6 ms here, and `benchmarks/report_scale.py`
    (10,000 trials) took 22.7 s with it, beyond the 10 s target. The same statistic and tolerance.
    """
    pooled = np.concatenate([first, second])
    n1, total = first.size, pooled.size
    observed = abs(second.mean() - first.mean())
    tol = TIE_TOLERANCE * (observed + float(np.abs(pooled).max()) + 1e-300)
    pooled_sum = pooled.sum()
    shuffled = rng.permuted(np.broadcast_to(pooled, (n_permutations, total)), axis=1)
    s1 = shuffled[:, :n1].sum(axis=1)
    stats = np.abs((pooled_sum - s1) / (total - n1) - s1 / n1)
    hits = np.count_nonzero(stats >= observed - tol)
    return float((1 + hits) / (1 + n_permutations))


def benjamini_hochberg(pvalues: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (step-up, scipy's `false_discovery_control`), in the input order:
    reject where adjusted <= q.

    adjusted_(i) = min over j >= i of m * p_(j) / j, capped at 1, so adjusted values are
    monotone in the raw ones and never below them.
    """
    p = np.asarray(pvalues, dtype=float)
    if p.size == 0:
        return []
    if np.any((p < 0) | (p > 1) | ~np.isfinite(p)):
        raise ValueError(f"p-values must lie in [0, 1]: {list(pvalues)!r}")
    return [float(v) for v in _scipy_stats().false_discovery_control(p, method="bh")]


def cv(values: Sequence[float]) -> float | None:
    x = _array(values)
    if x.size < 2 or x.mean() == 0:
        return None
    return float(x.std(ddof=1) / x.mean())


def first_trial_outlier(values: Sequence[float], *, mads: float = 3.0, floor: float = 0.01) -> bool:
    """Whether the first trial (in run order) stands apart from the others.

    It does when it lies outside the others' range and more than `mads` scaled MADs
    (1.4826 x median absolute deviation, a robust standard deviation) from their median. The MAD
    is floored at `floor` x that median, so near-identical other trials do not flag a first trial
    that differs by a fraction of a percent. Needs at least three other trials.
    """
    x = _array(values)
    if x.size < 4:
        return False
    first, rest = float(x[0]), x[1:]
    centre = float(np.median(rest))
    spread = max(1.4826 * float(np.median(np.abs(rest - centre))), floor * abs(centre))
    outside = first < rest.min() or first > rest.max()
    return bool(outside and abs(first - centre) > mads * spread)


def _exact_small_pvalue(first: np.ndarray, second: np.ndarray) -> float:
    """Every partition of the pooled values (the observed one included), for tiny samples."""
    pooled = np.concatenate([first, second])
    observed = abs(float(np.mean(second)) - float(np.mean(first)))
    tolerance = TIE_TOLERANCE * (float(np.abs(pooled).max()) + 1e-300)
    hits = total = 0
    for chosen in itertools.combinations(range(pooled.size), first.size):
        mask = np.zeros(pooled.size, dtype=bool)
        mask[list(chosen)] = True
        total += 1
        hits += abs(float(pooled[~mask].mean()) - float(pooled[mask].mean())) >= observed - tolerance
    return hits / total
