"""Verdicts: the rules, their symmetry, and an A/A calibration that must stay within the FDR."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_runs import MiB, RunBuilder, seq_write_cell
from builders import make_cell
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.analysis.compare import (
    CellInput,
    Metric,
    Policy,
    Verdict,
    compare_cells,
    compare_run,
    metric_values,
    run_baseline,
    signed_pct,
    stability_warnings,
)
from iocompare.model import TrialStatus

FAST = Policy(n_boot=1000, n_permutations=999)


def one(a, b, *, metric=Metric.THROUGHPUT, policy=FAST, **kw):
    return compare_cells([CellInput("c@4k", "host", "vm", tuple(a), tuple(b), **kw)], metric=metric, policy=policy)[0]


def lognormal(seed, centre, n=5, cv=0.03):
    return list(centre * np.random.default_rng(seed).lognormal(0, cv, n))


def test_clear_difference_is_faster_and_the_swap_is_slower_with_the_reciprocal_ratio():
    a, b = lognormal(1, 1000.0), lognormal(2, 1730.0)
    ab, ba = one(a, b), one(b, a)
    assert ab.verdict is Verdict.FASTER and ba.verdict is Verdict.SLOWER
    assert ba.estimate.ratio == pytest.approx(1 / ab.estimate.ratio)
    assert ab.describe().endswith("% faster (CI " + ab.describe().split("(CI ")[1])
    assert "% slower" in ba.describe()
    assert ab.p_value == ba.p_value == pytest.approx(2 / 252)


def test_latency_metric_lower_is_faster():
    a, b = lognormal(1, 900_000.0), lognormal(2, 400_000.0)  # p99 latency: B lower
    c = one(a, b, metric=Metric.LATENCY_P99)
    assert c.verdict is Verdict.FASTER
    assert c.speedup.ratio == pytest.approx(1 / c.estimate.ratio)
    assert "lower p99 latency" in c.describe()


def test_equal_environments_with_a_narrow_ci_show_no_significant_difference():
    a = [1000.0, 1001.0, 999.0, 1000.5, 999.5, 1000.2]
    c = one(a, list(reversed(a)))
    assert c.verdict is Verdict.NO_DIFFERENCE
    assert c.describe().startswith("no significant difference (CI ")


def test_a_wide_ci_straddling_the_band_is_inconclusive():
    c = one(lognormal(3, 1000.0, cv=0.2), lognormal(4, 1080.0, cv=0.2))
    assert c.verdict is Verdict.INCONCLUSIVE
    assert any("straddles" in r for r in c.reasons)


def test_a_small_but_significant_effect_below_the_threshold_is_not_faster():
    a = [1000.0, 1001.0, 999.0, 1000.5, 999.5]
    b = [v * 1.03 for v in a]
    c = one(a, b)
    assert c.estimate.ci.low > 1 and c.p_adjusted < 0.05
    assert c.verdict is Verdict.NO_DIFFERENCE  # CI wholly inside the +-5 % band


def test_too_few_trials_are_inconclusive_and_warned():
    c = one([1000.0, 1010.0, 990.0], [2000.0, 2010.0, 1990.0])
    assert c.verdict is Verdict.INCONCLUSIVE
    assert "too few trials" in c.reasons[0]
    assert {w.code for w in c.warnings} == {"too-few-trials"}


def test_fdr_failure_makes_it_inconclusive():
    # Three trials a side: the smallest exact p is 0.1, which no FDR level of 0.05 accepts.
    c = one([1000.0, 1010.0, 990.0], [2000.0, 2010.0, 1990.0], policy=Policy(min_trials=3, n_boot=500))
    assert c.estimate.ci.low > 1.9
    assert c.verdict is Verdict.INCONCLUSIVE
    assert any("not significant after FDR" in r for r in c.reasons)


def test_an_artifact_flag_in_either_environment_makes_it_suspect():
    a, b = lognormal(1, 1000.0), lognormal(2, 1730.0)
    for kw in ({"suspect_b": ("faster than the host",)}, {"suspect_a": ("memory filesystem (tmpfs)",)}):
        c = one(a, b, **kw)
        assert c.verdict is Verdict.SUSPECT
        assert c.describe().startswith("suspect: ")
        assert c.estimate is not None  # the numbers stay


def test_missing_side_is_not_compared():
    c = one([], [1.0, 2.0])
    assert c.verdict is Verdict.NOT_COMPARED and c.estimate is None
    assert "host" in c.reasons[0]


_OPPOSITE = {Verdict.FASTER: Verdict.SLOWER, Verdict.SLOWER: Verdict.FASTER}


@given(
    st.lists(st.floats(min_value=100, max_value=200), min_size=2, max_size=7),
    st.lists(st.floats(min_value=100, max_value=400), min_size=2, max_size=7),
    st.integers(min_value=2, max_value=5),
)
@settings(max_examples=40, deadline=None)
def test_verdicts_are_symmetric(a, b, min_trials):
    policy = Policy(min_trials=min_trials, n_boot=300, n_permutations=199)
    ab, ba = one(a, b, policy=policy), one(b, a, policy=policy)
    assert ba.verdict is _OPPOSITE.get(ab.verdict, ab.verdict)
    assert ba.estimate.ratio == pytest.approx(1 / ab.estimate.ratio)
    assert ba.estimate.ci.low == pytest.approx(1 / ab.estimate.ci.high)
    assert ba.p_adjusted == ab.p_adjusted


def test_a_a_calibration_stays_within_the_false_discovery_rate():
    """40 cells of identical lognormal draws (CV 5 %, n = 5 a side), 10 independent repeats.

    Under a complete null, BH at q = 0.05 bounds the chance of any discovery by 0.05; the
    noise threshold makes it smaller still. Allow 1 of 10 repeats to have one (expected ~0)."""
    rng = np.random.default_rng(2024)
    runs_with_a_verdict, total = 0, 0
    for repeat in range(10):
        inputs = [
            CellInput(
                f"cell{i}@4k", "host", "host-again", tuple(rng.lognormal(7, 0.05, 5)), tuple(rng.lognormal(7, 0.05, 5))
            )
            for i in range(40)
        ]
        found = sum(
            c.verdict in (Verdict.FASTER, Verdict.SLOWER) for c in compare_cells(inputs, policy=Policy(seed=repeat))
        )
        total += found
        runs_with_a_verdict += found > 0
    assert runs_with_a_verdict <= 1
    assert total <= 2


def test_bh_runs_across_the_whole_family():
    strong = CellInput("a@4k", "host", "vm", tuple(lognormal(1, 1000.0)), tuple(lognormal(2, 1500.0)))
    nulls = [
        CellInput(f"n{i}@4k", "host", "vm", tuple(lognormal(10 + i, 1000.0)), tuple(lognormal(50 + i, 1000.0)))
        for i in range(5)
    ]
    result = compare_cells([strong, *nulls], policy=FAST)
    assert result[0].p_adjusted == pytest.approx(result[0].p_value * 6)


def test_stability_warnings():
    assert {w.code for w in stability_warnings([100.0, 140.0, 80.0, 120.0, 95.0], "vm")} == {"high-cv"}
    outlier = stability_warnings([110.0, 100.0, 101.0, 99.0, 100.5], "vm")
    assert [w.code for w in outlier] == ["first-trial-outlier"]
    assert outlier[0].message == "vm: first trial +10 % off the median of the other 4"
    assert stability_warnings([], "vm") == ()
    assert stability_warnings([100.0, 100.5, 99.5, 100.0, 100.2], "vm") == ()


def test_signed_pct():
    assert (signed_pct(1.73), signed_pct(0.58), signed_pct(1.0)) == ("+73", "-42", "+0")


def test_compare_run_over_a_stored_run():
    cell = seq_write_cell()
    other = make_cell()
    b = RunBuilder({"host": ("host", {}), "ctr": ("container", {}), "vm": ("qemu", {})})
    b.add_values(cell, "host", lognormal(1, 1000 * MiB)).add_values(cell, "ctr", lognormal(2, 1000 * MiB))
    b.add_values(cell, "vm", lognormal(3, 1730 * MiB))
    b.add_values(other, "host", lognormal(4, 900 * MiB)).add_values(other, "vm", lognormal(5, 400 * MiB))
    b.add(other, "ctr", None, status=TrialStatus.FAILED, reason="boom")
    run = b.build()
    assert run_baseline(run) == "host"
    assert len(metric_values(run.trials)[(cell.key, "vm")]) == 5
    got = {(c.key, c.candidate): c for c in compare_run(run, policy=FAST)}
    assert got[(cell.key, "vm")].verdict is Verdict.FASTER
    assert got[(other.key, "vm")].verdict is Verdict.SLOWER
    assert got[(cell.key, "ctr")].verdict in (Verdict.NO_DIFFERENCE, Verdict.INCONCLUSIVE)
    assert got[(other.key, "ctr")].verdict is Verdict.NOT_COMPARED
    flagged = compare_run(run, candidates=["vm"], suspects={(cell.key, "vm"): ("faster than the host",)}, policy=FAST)
    assert {c.key: c.verdict for c in flagged}[cell.key] is Verdict.SUSPECT


def test_default_baseline_without_a_host_named_host():
    run = RunBuilder({"a": ("container", {}), "h2": ("host", {})}).build()
    assert run_baseline(run) == "h2"
    assert run_baseline(RunBuilder({"a": ("container", {}), "b": ("qemu", {})}).build()) == "a"
