"""Curves across block sizes, crossings of the ratio curve, and the suite summary."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_runs import MiB, RunBuilder, seq_write_cell

from iocompare.analysis.compare import Policy
from iocompare.analysis.crossblock import RatioPoint, cross_block, find_crossings, suite_summaries, suite_summary
from iocompare.analysis.stats import Interval, RatioEstimate

FAST = Policy(n_boot=1000)


def point(block, ratio, ci=None):
    return RatioPoint(block, RatioEstimate(ratio, Interval(*ci) if ci else None, 5, 5))


def test_crossing_is_interpolated_on_log2_block_size():
    (c,) = find_crossings([point(65536, 1.25), point(4096, 0.8)])
    assert (c.low_block_bytes, c.high_block_bytes, c.direction) == (4096, 65536, "up")
    assert c.block_bytes == pytest.approx(16384)  # ln 0.8 = -ln 1.25: halfway between 2^12 and 2^16
    assert not c.confirmed


def test_crossing_down_and_confirmed_by_cis():
    (c,) = find_crossings([point(4096, 1.5, (1.4, 1.6)), point(1 << 20, 0.75, (0.7, 0.8))])
    assert c.direction == "down" and c.confirmed
    x = 12 + (20 - 12) * math.log(1.5) / (math.log(1.5) - math.log(0.75))
    assert c.block_bytes == pytest.approx(2**x)
    assert "falls behind near" in c.describe() and "between 4 KiB and 1 MiB" in c.describe()


def test_no_crossing_on_one_side_or_at_exactly_one():
    assert find_crossings([point(4096, 1.2), point(65536, 1.1), point(1 << 20, 1.0)]) == ()
    assert find_crossings([point(4096, 0.9), point(65536, 0.95)]) == ()
    assert len(find_crossings([point(512, 0.9), point(4096, 1.1), point(65536, 0.9)])) == 2
    assert find_crossings([]) == ()


def _curve_run():
    rng = np.random.default_rng(0)
    b = RunBuilder({"host": ("host", {}), "vm": ("qemu", {})})
    for block, host_bw, vm_bw in ((4096, 400, 300), (65536, 1200, 1100), (1 << 20, 2000, 2300)):
        cell = seq_write_cell(block)
        b.add_values(cell, "host", list(host_bw * MiB * rng.lognormal(0, 0.02, 5)))
        b.add_values(cell, "vm", list(vm_bw * MiB * rng.lognormal(0, 0.02, 5)))
    return b.build()


def test_cross_block_over_a_stored_run():
    (curves,) = cross_block(_curve_run(), policy=FAST)
    assert curves.workload == "seq-write"
    assert [p.block_size_bytes for p in curves.curves["host"]] == [4096, 65536, 1 << 20]
    host_4k = curves.curves["host"][0]
    assert host_4k.n == 5 and host_4k.iops == pytest.approx(host_4k.bw_bps / 4096)
    assert host_4k.lat_p50_ns == 80_000.0
    ratios = [p.estimate.ratio for p in curves.ratios["vm"]]
    assert ratios[0] == pytest.approx(0.75, rel=0.05) and ratios[2] == pytest.approx(1.15, rel=0.05)
    (crossing,) = curves.crossings["vm"]
    assert (crossing.low_block_bytes, crossing.high_block_bytes, crossing.direction) == (65536, 1 << 20, "up")
    assert "host" not in curves.ratios


def test_suite_summary_known_values():
    cells = {f"c{i}": ([100.0, 101.0, 99.0], [200.0, 202.0, 198.0]) for i in range(4)}
    s = suite_summary(cells, baseline="a", candidate="b", policy=FAST)
    assert s.ratio == pytest.approx(2.0) and s.ci.contains(2.0)
    assert s.ci.low > 1.97 and s.ci.high < 2.03  # four cells average out each cell's noise
    assert (
        s.ci.high - s.ci.low
        < suite_summary({"c0": cells["c0"]}, baseline="a", candidate="b", policy=FAST).ci.high - 1.9
    )
    mixed = {"x": ([100.0, 100.0], [400.0, 400.0]), "y": ([100.0, 100.0], [100.0, 100.0])}
    assert suite_summary(mixed, baseline="a", candidate="b").ratio == pytest.approx(2.0)  # sqrt(4 * 1)


def test_suite_summary_of_identical_groups_contains_one_and_excludes_what_it_must():
    rng = np.random.default_rng(3)
    cells = {f"c{i}": (tuple(v), tuple(v)) for i, v in enumerate(rng.lognormal(5, 0.05, (6, 5)))}
    cells["few"] = ((1.0,), (2.0, 3.0))
    s = suite_summary(cells, baseline="a", candidate="b", exclude={"c0"}, policy=FAST)
    assert s.ratio == pytest.approx(1.0) and s.ci.contains(1.0)
    assert s.n_cells == 5 and s.excluded == ("c0", "few")
    assert suite_summary({}, baseline="a", candidate="b").ratio is None


def test_suite_summaries_leave_out_suspect_cells():
    run = _curve_run()
    (s,) = suite_summaries(run, policy=FAST)
    assert (s.baseline, s.candidate, s.n_cells) == ("host", "vm", 3)
    key = run.cells[0].key
    (flagged,) = suite_summaries(run, suspects={(key, "vm"): ("faster than the host",)}, policy=FAST)
    assert flagged.excluded == (key,) and flagged.n_cells == 2
