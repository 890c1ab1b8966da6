"""Equal idle before every trial (execute/settle.py) and the burst-credit check (analysis/burst.py)."""

from __future__ import annotations

import pytest
from analysis_runs import DISK_FACTS, MiB, RunBuilder, result_for
from builders import make_cell
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.analysis.artifacts import CheckId, CheckStatus
from iocompare.analysis.burst import check_burst_credit, rank_correlation
from iocompare.analysis.runchecks import check_run
from iocompare.errors import UserError
from iocompare.execute.settle import IdleClock
from iocompare.spec.load import validate_suite


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_fio_starts_the_settle_time_after_the_last_io_whatever_the_start_up():
    t = FakeTime()
    idle = IdleClock(3.0, clock=t.clock, sleep=t.sleep)
    idle.io_ended()
    t.now += 0.4  # a container starts inside the settle time
    idle.startup_begins()
    facts = idle.wait()
    assert float(facts["idle_gap_s"]) == pytest.approx(3.0) and t.slept == [pytest.approx(2.6)]
    idle.io_ended()
    idle.startup_begins()
    t.now += 0.05  # the host: nothing to start
    assert float(idle.wait()["idle_gap_s"]) == pytest.approx(3.0)


def test_a_start_up_longer_than_the_settle_time_becomes_the_settle_time():
    t = FakeTime()
    idle = IdleClock(3.0, clock=t.clock, sleep=t.sleep)
    idle.io_ended()
    idle.startup_begins()
    t.now += 8.0  # a TCG boot
    first = idle.wait()
    assert float(first["idle_gap_s"]) == pytest.approx(8.0) and float(first["startup_s"]) == pytest.approx(8.0)
    idle.io_ended()
    idle.startup_begins()  # then the host, whose trials now idle as long as the guest's
    after = idle.wait()
    assert float(after["idle_gap_s"]) == pytest.approx(8.0) and float(after["settle_s"]) == pytest.approx(8.0)


def test_settle_zero_starts_fio_at_once_and_a_layout_restarts_the_idle():
    t = FakeTime()
    idle = IdleClock(0.0, clock=t.clock, sleep=t.sleep)
    idle.startup_begins()
    t.now += 5.0
    assert idle.wait()["settle_s"] == "0.000" and t.slept == []
    idle = IdleClock(2.0, clock=t.clock, sleep=t.sleep)
    t.now += 10
    idle.after_layout(0.01)  # a no-op layout step is no IO
    idle.startup_begins()
    assert t.slept == [] and float(idle.wait()["idle_gap_s"]) == pytest.approx(10.0)
    idle.after_layout(4.0)  # a real layout is
    idle.startup_begins()
    assert float(idle.wait()["idle_gap_s"]) == pytest.approx(2.0)


@pytest.mark.parametrize("value", ["-1", "601", "nan", "inf"])
def test_settle_is_validated(value):
    data = {"name": "s", "settle_s": float(value), "workloads": [{"name": "w", "pattern": "rand-read"}]}
    with pytest.raises(UserError, match="settle_s"):
        validate_suite(data, "s.toml")


def test_the_default_settle_time():
    suite = validate_suite({"name": "s", "workloads": [{"name": "w", "pattern": "rand-read"}]}, "s.toml")
    assert suite.settle_s == 3.0


def test_rank_correlation():
    rho, p = rank_correlation([0.1, 0.5, 1.0, 2.0, 3.0, 4.0], [1.0, 1.2, 1.5, 2.0, 2.4, 2.7])
    assert rho == pytest.approx(1.0) and p < 0.01
    rho, p = rank_correlation([1, 2, 3, 4, 5], [3, 1, 5, 2, 4])
    assert abs(rho) < 0.5 and p > 0.1
    assert rank_correlation([1, 1, 1], [1, 2, 3]) is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(1, 1e10)), min_size=2, max_size=12))
def test_rank_correlation_is_bounded(pairs):
    found = rank_correlation([x for x, _ in pairs], [y for _, y in pairs], permutations=200)
    if found is not None:
        rho, p = found
        assert -1 - 1e-9 <= rho <= 1 + 1e-9 and 0 < p <= 1


CELL = make_cell(workload="rand-read", block_size_bytes=1 << 20, iodepth=16)


def run_with_gaps(host: list[tuple[float, float]], podman: list[tuple[float, float]]) -> RunBuilder:
    b = RunBuilder({"host": ("host", dict(DISK_FACTS)), "podman": ("podman", dict(DISK_FACTS))})
    for env, pairs in (("host", host), ("podman", podman)):
        for gap, bw in pairs:
            b.add(CELL, env, result_for(CELL, bw * MiB), facts={"idle_gap_s": f"{gap:.3f}"})
    return b


def burst(b: RunBuilder, env: str):
    return {r.check: r for r in check_run(b.build(), b.samples)[(CELL.key, env)]}[CheckId.BURST_CREDIT]


def test_fires_when_the_environment_that_idled_longer_is_faster():
    """The issue's case: the host starts fio at once, podman after 0.4 s of start-up, 46 % faster."""
    b = run_with_gaps([(0.05, 1800)] * 5, [(0.45, 2630)] * 5)
    found = burst(b, "podman")
    assert found.fired and "0.45 s idle against 0.05 s" in found.explanation
    assert burst(b, "host").status is CheckStatus.PASSED  # the reference, alone: its gaps are equal


def test_fires_when_throughput_follows_the_gap_within_an_environment():
    pairs = [(0.1, 1700), (1.0, 2000), (2.0, 2300), (3.0, 2600), (4.0, 2700), (0.5, 1800)]
    found = burst(run_with_gaps(pairs, pairs), "host")
    assert found.fired and "rank correlation" in found.explanation


def test_equal_idle_passes_and_unrecorded_idle_is_not_evaluated():
    b = run_with_gaps([(3.0, 1800)] * 5, [(3.01, 2600)] * 5)
    assert burst(b, "podman").status is CheckStatus.PASSED
    b = RunBuilder({"host": ("host", dict(DISK_FACTS))})
    b.add_values(CELL, "host", [100 * MiB] * 3)
    found = {r.check: r for r in check_run(b.build(), b.samples)[(CELL.key, "host")]}[CheckId.BURST_CREDIT]
    assert found.status is CheckStatus.NOT_EVALUATED and "idle time" in found.explanation
    assert check_burst_credit([], None, "the host").status is CheckStatus.NOT_EVALUATED


def test_a_longer_idle_that_is_not_faster_passes():
    b = run_with_gaps([(0.05, 1800)] * 5, [(0.45, 1810)] * 5)
    assert burst(b, "podman").status is CheckStatus.PASSED
