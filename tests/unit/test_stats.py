"""Statistics against known values (scipy, the stdlib) and properties (hypothesis)."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sp

from iocompare.analysis import stats

positive = st.floats(min_value=1.0, max_value=1e10, allow_nan=False, allow_infinity=False)
groups = st.lists(positive, min_size=2, max_size=8)


def _scipy_perm_p(a, b):
    result = sp.permutation_test(
        (np.log(a), np.log(b)),
        lambda x, y, axis: np.abs(np.mean(y, axis=axis) - np.mean(x, axis=axis)),
        permutation_type="independent",
        alternative="greater",
        n_resamples=np.inf,
        vectorized=True,
    )
    return result.pvalue


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([100, 102, 98, 101, 99], [110, 108, 111, 109, 112]),
        ([100, 102, 98, 101, 99], [101.3, 97, 103, 100.2, 99.4]),
        ([5.0, 7.0, 6.0], [6.5, 9.0, 8.0, 7.5]),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
    ],
)
def test_exact_permutation_p_matches_scipy(a, b):
    assert stats.permutation_pvalue(a, b) == pytest.approx(_scipy_perm_p(a, b), abs=1e-12)


def test_exact_permutation_counts_tied_partitions_as_ties():
    # Floating sums of the same values in another order differ in the last bits; an exact
    # reference (math.fsum) counts 244 of 252 partitions at least as extreme. (scipy's
    # tolerance is relative to the statistic and misses some of these ties.)
    a, b = [100, 102, 98, 101, 99], [101, 97, 103, 100, 99]
    assert stats.permutation_pvalue(a, b) == pytest.approx(244 / 252)


def test_exact_permutation_smallest_p_for_5_and_5_is_2_of_252():
    assert stats.permutation_pvalue([1, 2, 3, 4, 5], [10, 11, 12, 13, 14]) == pytest.approx(2 / 252)


def test_monte_carlo_permutation_p_is_close_to_exact():
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(0, 0.1, 10), rng.lognormal(0.08, 0.1, 10)  # C(20, 10) = 184,756 > limit
    exact = stats.permutation_pvalue(a, b, exact_limit=10**6)
    monte_carlo = stats.permutation_pvalue(a, b, seed=1)
    assert monte_carlo == pytest.approx(exact, abs=0.02)
    assert monte_carlo > 0


def test_permutation_p_of_identical_groups_is_one():
    assert stats.permutation_pvalue([3.0, 3.0, 3.0], [3.0, 3.0, 3.0]) == 1.0


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_bh_matches_scipy(p):
    ours = stats.benjamini_hochberg(p)
    assert ours == pytest.approx(list(sp.false_discovery_control(p)), abs=1e-12)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_bh_is_monotone_and_never_below_raw(p):
    adjusted = stats.benjamini_hochberg(p)
    assert all(q >= r - 1e-15 for q, r in zip(adjusted, p, strict=False))
    assert all(q <= 1.0 for q in adjusted)
    pairs = sorted(zip(p, adjusted, strict=False))
    assert all(x[1] <= y[1] + 1e-15 for x, y in itertools.pairwise(pairs))


def test_bh_known_values_and_edges():
    assert stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert stats.benjamini_hochberg([]) == []
    with pytest.raises(ValueError):
        stats.benjamini_hochberg([0.5, 1.5])


def test_summary_matches_stdlib():
    values = [410.0, 398.0, 405.0, 420.0, 401.0]
    s = stats.summarise(values, seed=3)
    assert s.n == 5
    assert s.median == statistics.median(values)
    assert s.mean == pytest.approx(statistics.fmean(values))
    assert s.cv == pytest.approx(statistics.stdev(values) / statistics.fmean(values))
    assert (s.min, s.max) == (398.0, 420.0)
    assert s.geomean == pytest.approx(statistics.geometric_mean(values))
    assert s.mean_ci is not None and s.mean_ci.low < s.mean < s.mean_ci.high


def test_mean_ci_agrees_with_scipy_percentile_bootstrap():
    values = np.random.default_rng(11).lognormal(5, 0.1, 12)
    ours = stats.summarise(values, n_boot=20_000, seed=1).mean_ci
    ref = sp.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=20_000, rng=np.random.default_rng(2)
    ).confidence_interval
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.03 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.03 * width)


def test_ratio_ci_agrees_with_scipy_two_sample_bootstrap():
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(5, 0.08, 8), rng.lognormal(5.2, 0.08, 8)
    ours = stats.ratio_of_geomeans(a, b, n_boot=20_000, seed=1)
    ref = sp.bootstrap(
        (np.log(a), np.log(b)),
        lambda x, y, axis: np.mean(y, axis=axis) - np.mean(x, axis=axis),
        method="percentile",
        n_resamples=20_000,
        rng=np.random.default_rng(2),
    ).confidence_interval
    assert ours.ratio == pytest.approx(statistics.geometric_mean(b) / statistics.geometric_mean(a))
    width = ref.high - ref.low
    assert math.log(ours.ci.low) == pytest.approx(ref.low, abs=0.03 * width)
    assert math.log(ours.ci.high) == pytest.approx(ref.high, abs=0.03 * width)


@given(groups)
@settings(max_examples=50, deadline=None)
def test_ratio_of_identical_samples_is_one_with_ci_containing_one(values):
    r = stats.ratio_of_geomeans(values, values, n_boot=500)
    assert r.ratio == pytest.approx(1.0)
    assert r.ci.low <= 1.0 + 1e-12 and r.ci.high >= 1.0 - 1e-12


@given(groups, groups)
@settings(max_examples=50, deadline=None)
def test_swapping_groups_gives_the_reciprocal_ratio_and_ci_and_the_same_p(a, b):
    ab = stats.ratio_of_geomeans(a, b, n_boot=500, seed=9)
    ba = stats.ratio_of_geomeans(b, a, n_boot=500, seed=9)
    assert ba.ratio == pytest.approx(1 / ab.ratio, rel=1e-9)
    assert ba.ci.low == pytest.approx(1 / ab.ci.high, rel=1e-9)
    assert ba.ci.high == pytest.approx(1 / ab.ci.low, rel=1e-9)
    assert stats.permutation_pvalue(a, b, seed=9) == stats.permutation_pvalue(b, a, seed=9)


def test_deterministic_given_a_seed_and_different_across_seeds():
    rng = np.random.default_rng(1)
    a, b = rng.lognormal(0, 0.1, 6), rng.lognormal(0, 0.1, 6)
    assert stats.ratio_of_geomeans(a, b, seed=4) == stats.ratio_of_geomeans(a, b, seed=4)
    assert stats.ratio_of_geomeans(a, b, seed=4).ci != stats.ratio_of_geomeans(a, b, seed=5).ci
    big_a, big_b = rng.lognormal(0, 0.1, 15), rng.lognormal(0, 0.1, 15)
    assert stats.permutation_pvalue(big_a, big_b, seed=4) == stats.permutation_pvalue(big_a, big_b, seed=4)


def test_single_values_have_no_ci():
    assert stats.ratio_of_geomeans([2.0], [4.0]).ci is None
    assert stats.ratio_of_geomeans([2.0], [4.0]).ratio == pytest.approx(2.0)
    s = stats.summarise([7.0])
    assert s.mean_ci is None and s.cv is None and s.median == 7.0


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [0.0, 1.0], [-1.0, 2.0]])
def test_ratio_rejects_values_that_have_no_log(bad):
    with pytest.raises(ValueError):
        stats.ratio_of_geomeans(bad, [1.0, 2.0])


def test_first_trial_outlier_rule():
    assert stats.first_trial_outlier([150.0, 100.0, 101.0, 99.0, 100.5])
    assert stats.first_trial_outlier([60.0, 100.0, 101.0, 99.0, 100.5])
    assert not stats.first_trial_outlier([100.2, 100.0, 101.0, 99.0, 100.5])  # inside the others' range
    assert not stats.first_trial_outlier([101.5, 100.0, 101.0, 99.0, 100.5])  # outside, but within 3 MADs
    assert not stats.first_trial_outlier([100.4, 100.0, 100.0, 100.0])  # MAD floor: 1 % of the median
    assert not stats.first_trial_outlier([150.0, 100.0, 101.0])  # too few others to judge


def test_percentile_interval_and_reciprocal():
    assert stats.percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
    r = stats.RatioEstimate(2.0, stats.Interval(1.6, 2.5), 5, 6)
    rec = r.reciprocal()
    assert (rec.ratio, rec.ci, rec.n_a, rec.n_b) == (0.5, stats.Interval(0.4, 0.625), 6, 5)
    assert r.log_half_width == pytest.approx((math.log(2.5) - math.log(1.6)) / 2)
