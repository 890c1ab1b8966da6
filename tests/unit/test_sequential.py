"""The group-sequential rule: its boundaries spend alpha as designed, an A/A comparison looked at
many times keeps the false-verdict rate at or below alpha (where the fixed-n CI at every look
does not), and a planted effect is found at an early look. Seeded numpy simulations, no fio."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iocompare.analysis import sequential
from iocompare.analysis.stopping import Stop, stopping_decision
from iocompare.spec.models import Spending

LOOKS_EVERY = 3
PILOT, CAP = 5, 20


def crossing_rate(boundaries: tuple[float, ...], looks: tuple[int, ...], draws: int = 200_000) -> float:
    """P(|Z_k| >= c_k at some look) under no difference, Z_k the z of the first n_k of one sample."""
    rng = np.random.default_rng(1)
    steps = np.diff((0, *looks))
    sums = np.cumsum(rng.standard_normal((draws, len(looks))) * np.sqrt(steps), axis=1)
    z = sums / np.sqrt(np.asarray(looks))
    return float((np.abs(z) >= np.asarray(boundaries)).any(axis=1).mean())


@pytest.mark.parametrize("spending", list(Spending))
def test_the_boundaries_spend_alpha_over_all_looks(spending: Spending) -> None:
    gs = sequential.design(PILOT, CAP, LOOKS_EVERY, alpha=0.05, spending=spending)
    assert gs.looks == (5, 8, 11, 14, 17, 20)
    assert crossing_rate(gs.boundaries, gs.looks) == pytest.approx(0.05, abs=0.003)
    if spending is Spending.OBRIEN_FLEMING:  # strict early, near the fixed-n 1.96 at the end
        assert gs.boundaries[0] > 3.5 and 1.96 < gs.boundaries[-1] < 2.2
        assert list(gs.boundaries) == sorted(gs.boundaries, reverse=True)
    else:  # about equal at every look
        assert max(gs.boundaries) - min(gs.boundaries) < 0.1 and 2.3 < gs.boundaries[-1] < 2.5
    one_look = sequential.design(20, 20, 3)
    assert one_look.boundaries == pytest.approx((1.959964,), abs=1e-4)


def false_verdict_rate(boundary_of, sims: int, cv: float, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Share of A/A cells whose (repeated) CI excludes a ratio of 1 at some look up to the cap."""
    rng = np.random.default_rng(seed)
    false = 0
    for _ in range(sims):
        a = np.exp(rng.normal(0.0, cv, CAP))
        b = np.exp(rng.normal(0.0, cv, CAP))
        for n in range(PILOT, CAP + 1):
            z = boundary_of(n)
            if z is None:
                continue
            ci = sequential.repeated_interval(a[:n], b[:n], z)
            if ci.low > 1 or ci.high < 1:
                false += 1
                break
    return false / sims


@pytest.mark.parametrize("spending", list(Spending))
def test_an_aa_comparison_looked_at_many_times_keeps_false_verdicts_at_alpha(spending: Spending) -> None:
    gs = sequential.design(PILOT, CAP, LOOKS_EVERY, spending=spending)
    sims = 2000
    rate = false_verdict_rate(gs.boundary_at, sims, cv=0.15, seed=7)
    assert rate <= 0.05
    # the fixed-n 95 % CI at every round from the pilot to the cap: the inflation the design removes
    naive = false_verdict_rate(lambda n: 1.959964, sims, cv=0.15, seed=7)
    assert naive > 0.10 and naive > 2 * rate


def test_the_stopping_rule_at_a_look_uses_the_repeated_interval_and_waits_between_looks() -> None:
    gs = sequential.design(PILOT, CAP, LOOKS_EVERY)
    rng = np.random.default_rng(3)
    a = list(np.exp(rng.normal(math.log(100.0), 0.03, 6)))
    b = list(np.exp(rng.normal(math.log(80.0), 0.03, 6)))  # planted: 0.80
    between = stopping_decision(a[:6], b[:6], min_trials=PILOT, cap=CAP, sequential=gs, seed=1)
    assert between.action is Stop.CONTINUE and "between two looks" in between.reason
    decided = stopping_decision(a[:5], b[:5], min_trials=PILOT, cap=CAP, sequential=gs, seed=1)
    assert decided.action is Stop.DECIDED and "repeated CI (look at 5 trials, z 2.3" in decided.reason
    assert "outside" in decided.reason and decided.estimate is not None and decided.estimate.ci is not None
    ci = decided.estimate.ci
    assert ci.low <= 0.80 <= ci.high
    fixed_n = stopping_decision(a[:5], b[:5], min_trials=PILOT, cap=CAP, seed=1).estimate
    assert fixed_n is not None and fixed_n.ci is not None
    assert ci.high - ci.low > fixed_n.ci.high - fixed_n.ci.low  # wider than the fixed-n CI at a first look
    assert 0.98 < decided.estimate.confidence < 0.99  # Pocock-like: about 2.4 at every look


def test_planted_effects_are_found_at_early_looks_and_aa_cells_stop_inside_the_band() -> None:
    gs = sequential.design(PILOT, CAP, LOOKS_EVERY)
    rng = np.random.default_rng(11)
    stopped_at, missed = [], 0
    for factor in (0.80, 0.90, 1.0):
        for _ in range(20):
            a = list(np.exp(rng.normal(0.0, 0.02, CAP)))
            b = list(np.exp(rng.normal(math.log(factor), 0.02, CAP)))
            for n in range(PILOT, CAP + 1):
                d = stopping_decision(a[:n], b[:n], min_trials=PILOT, cap=CAP, sequential=gs, seed=n)
                if d.action is not Stop.CONTINUE:
                    break
            assert d.action is Stop.DECIDED, d.reason
            assert d.estimate is not None and d.estimate.ci is not None
            ci = d.estimate.ci
            missed += not ci.low <= factor <= ci.high
            if factor < 1.0:  # found: the repeated CI is wholly below the band
                assert ci.high < 1 / 1.05, d.reason
            else:  # the A/A twin: wholly inside it
                assert ci.low > 1 / 1.05 and ci.high < 1.05, d.reason
            stopped_at.append(n)
    assert sorted(stopped_at)[len(stopped_at) // 2] == PILOT and max(stopped_at) <= 11  # mostly at the first look
    assert missed <= 3  # of 60: the repeated CIs cover the true ratio at their 95 % (or better)
