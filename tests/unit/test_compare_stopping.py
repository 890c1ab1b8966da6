"""The adaptive stopping rule as a pure function of the trials so far."""

from __future__ import annotations

import numpy as np

from iocompare.analysis.stopping import Stop, stopping_decision


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
