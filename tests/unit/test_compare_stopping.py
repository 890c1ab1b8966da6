"""The adaptive stopping rule as a pure function of the trials so far."""

from __future__ import annotations

import numpy as np

from iocompare.analysis.stopping import Stop, stopping_decision, trials_needed


def draws(seed, centre, n, cv):
    return list(centre * np.random.default_rng(seed).lognormal(0, cv, n))


def test_continue_below_the_minimum():
    d = stopping_decision([1.0] * 3, [2.0] * 3)
    assert d.action is Stop.CONTINUE and d.estimate is None


def test_narrow_ci_decides():
    d = stopping_decision(draws(1, 100, 5, 0.005), draws(2, 101, 5, 0.005), seed=1)
    assert d.action is Stop.DECIDED and "half-width" in d.reason


def test_ci_wholly_outside_the_band_decides_even_when_wide():
    d = stopping_decision(draws(1, 100, 5, 0.06), draws(2, 200, 5, 0.06), seed=1)
    assert d.action is Stop.DECIDED and "outside" in d.reason


def test_ci_wholly_inside_the_band_decides():
    d = stopping_decision(draws(1, 100, 8, 0.03), draws(2, 100, 8, 0.03), half_width=0.001, seed=1)
    assert d.action is Stop.DECIDED and "inside" in d.reason


def test_undecided_continues_then_stops_at_the_cap_or_is_unstable():
    a, b = draws(1, 100, 20, 0.06), draws(2, 104, 20, 0.06)
    assert stopping_decision(a[:6], b[:6], seed=1).action is Stop.CONTINUE
    assert stopping_decision(a, b, seed=1, half_width=0.001).action is Stop.CAP
    noisy_a, noisy_b = draws(3, 100, 20, 0.25), draws(4, 104, 20, 0.25)
    d = stopping_decision(noisy_a, noisy_b, seed=1)
    assert d.action is Stop.UNSTABLE and "CV" in d.reason


def test_a_single_environment_stops_when_its_own_ci_is_narrow():
    assert stopping_decision(draws(1, 100, 5, 0.004), seed=1).action is Stop.DECIDED
    assert stopping_decision(draws(1, 100, 5, 0.08), seed=1).action is Stop.CONTINUE
    assert stopping_decision(draws(1, 100, 20, 0.3), seed=1).action is Stop.UNSTABLE


def test_deterministic():
    a, b = draws(1, 100, 7, 0.05), draws(2, 103, 7, 0.05)
    assert stopping_decision(a, b, seed=3) == stopping_decision(a, b, seed=3)


def test_trials_needed_follows_the_noise_and_the_distance_from_the_band_edge():
    quiet, noisy = draws(1, 100, 6, 0.01), draws(2, 100, 6, 0.10)
    assert trials_needed([quiet, draws(3, 100, 6, 0.01)]) < 5
    assert trials_needed([noisy, draws(4, 100, 6, 0.10)]) > 20
    # The same noise, an effect right at the 5 % edge: only the half-width target can decide it;
    # an effect far from the edge: the CI clears the band at once.
    base = draws(5, 100, 6, 0.03)
    assert trials_needed([base, [v * 1.05 for v in base]]) > 8 > trials_needed([base, [v * 1.5 for v in base]])
    assert trials_needed([[5.0, 5.0], [7.0, 7.0]]) == 0  # no noise: nothing more to learn


def test_futility_stops_only_when_the_cap_cannot_decide():
    a, b = draws(1, 100, 5, 0.15), draws(2, 100, 5, 0.15)
    assert stopping_decision(a, b, seed=1).action is Stop.CONTINUE  # off by default: every round
    d = stopping_decision(a, b, seed=1, futility=True)
    assert d.action is Stop.FUTILE and "beyond the cap of 20" in d.reason
    mild_a, mild_b = draws(3, 100, 5, 0.03), draws(4, 100, 5, 0.03)
    assert stopping_decision(mild_a, mild_b, seed=1, futility=True, half_width=0.001).action is Stop.CONTINUE
