"""Headline lines generated from comparisons."""

from __future__ import annotations

from analysis_runs import MiB, seq_write_cell
from builders import make_cell

from iocompare.analysis.compare import CellInput, Comparison, Metric, Policy, StabilityWarning, Verdict, compare_cells
from iocompare.analysis.headline import cell_title, headline, headlines
from iocompare.analysis.stats import Interval, RatioEstimate, SampleSummary
from iocompare.model import Pattern

CELL = seq_write_cell()


def summary(geomean):
    return SampleSummary(5, geomean, geomean, None, geomean, 0.01, geomean, geomean)


def comparison(verdict=Verdict.FASTER, reasons=(), warnings=(), ci=(1.68, 1.78)):
    return Comparison(
        CELL.key,
        Metric.THROUGHPUT,
        "container",
        "microVM",
        summary(1004 * MiB),
        summary(1737 * MiB),
        RatioEstimate(1737 / 1004, Interval(*ci), 5, 5),
        0.008,
        0.01,
        verdict,
        reasons,
        warnings,
    )


def test_the_seed_headline():
    assert (
        headline(comparison(), CELL)
        == "1 MiB sequential write: container 1,004.0 MiB/s vs microVM 1,737.0 MiB/s (+73 %, CI +68 to +78 %)"
    )


def test_the_same_line_with_its_flag():
    line = headline(comparison(Verdict.SUSPECT, ("faster than the host", "host page cache in path")), CELL)
    assert line == (
        "1 MiB sequential write: container 1,004.0 MiB/s vs microVM 1,737.0 MiB/s (+73 %, CI +68 to +78 %)"
        " — suspect: faster than the host; host page cache in path"
    )


def test_other_verdicts_and_warnings():
    nd = headline(comparison(Verdict.NO_DIFFERENCE, ci=(0.98, 1.04)), CELL)
    assert nd.endswith("(+73 %, CI -2 to +4 %; no significant difference)")
    inc = headline(comparison(Verdict.INCONCLUSIVE, ("CI straddles the ±5 % band",), ci=(0.9, 2.5)), CELL)
    assert inc.endswith("; inconclusive: CI straddles the ±5 % band)")
    warned = headline(
        comparison(warnings=(StabilityWarning("high-cv", "microVM", "microVM: CV 14 % above 10 %"),)), CELL
    )
    assert warned.endswith("[microVM: CV 14 % above 10 %]")


def test_cell_titles():
    assert cell_title(make_cell(pattern=Pattern.MIXED_RAND, read_percent=70)) == "4 KiB mixed random 70/30"
    assert cell_title(make_cell(iodepth=1)) == "4 KiB random read QD1"
    assert cell_title(make_cell(pattern=Pattern.FSYNC_PROBE, iodepth=1)) == "4 KiB fdatasync write probe"


def test_headlines_put_suspects_first_then_the_largest_effects():
    policy = Policy(n_boot=500)
    a = (1000.0, 1001.0, 999.0, 1000.5, 999.5)
    inputs = [
        CellInput("big", "host", "vm", a, tuple(v * 2 for v in a)),
        CellInput("small", "host", "vm", a, tuple(v * 1.2 for v in a)),
        CellInput("flagged", "host", "vm", a, tuple(v * 1.5 for v in a), suspect_b=("memory filesystem (tmpfs)",)),
        CellInput("same", "host", "vm", a, a),
    ]
    cells = {k: make_cell(workload=k) for k in ("big", "small", "flagged", "same")}
    lines = headlines(compare_cells(inputs, policy=policy), cells, limit=2)
    assert len(lines) == 2
    assert lines[0].startswith("4 KiB random read: host") and "suspect: memory filesystem (tmpfs)" in lines[0]
    assert "(+100 %" in lines[1]
    assert len(headlines(compare_cells(inputs, policy=policy), cells, limit=None)) == 3


def test_latency_headline_and_a_missing_side():
    c = compare_cells([CellInput(CELL.key, "host", "vm", (900_000.0,) * 5, ())], metric=Metric.LATENCY_P99)[0]
    assert (
        headline(c, CELL) == "1 MiB sequential write: host p99 900 µs vs vm - (not compared: no successful trial in vm)"
    )
