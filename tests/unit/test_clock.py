"""Guest clocks: the latency grid read from fio's histogram, the one decision of whether latency is
measurable, the coarse-clock check, and "not measurable" instead of "0 ns" in every format."""

from __future__ import annotations

import io
import json
import re

from analysis_runs import DISK_FACTS, PROBE_CELL, QD1_CELL, MiB, RunBuilder, result_for
from builders import make_cell
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from iocompare.analysis.artifacts import CheckId, CheckStatus
from iocompare.analysis.compare import Policy
from iocompare.analysis.runchecks import check_run
from iocompare.engines.fio_clock import latency_grid, latency_grid_facts
from iocompare.environments.microvm.instance import clock_after_run, guest_clock_facts
from iocompare.facts.judge import latency_clock
from iocompare.facts.probe import clock_facts
from iocompare.report.build import build_report
from iocompare.report.html import render_html
from iocompare.report.json_report import report_dict
from iocompare.report.markdown import render_markdown
from iocompare.report.terminal import render_terminal

TICK_NS = 4_014_080  # fio's bucket value for a 4 ms jiffy, as seen in this machine's TCG guests


def fio_output(bins: dict[int, int], side: str = "read") -> str:
    job = {"jobname": "t", side: {"clat_ns": {"bins": {str(k): v for k, v in bins.items()}}}}
    return json.dumps({"fio version": "fio-3.33", "jobs": [job]})


def test_a_jiffies_histogram_is_quantised_at_the_tick():
    grid = latency_grid(fio_output({0: 9_000, TICK_NS: 300, 2 * TICK_NS + 30_000: 10}))
    assert grid is not None and grid.quantised and grid.step_ns == TICK_NS and grid.on_grid
    assert grid.zero_share > 0.9 and grid.mean_ns < TICK_NS
    assert latency_grid_facts(fio_output({0: 5, TICK_NS: 1}))["latency_resolution_ns"] == str(TICK_NS)


def test_a_fine_clock_is_not_quantised_even_for_a_slow_disk():
    spread = {80_000 + 1_280 * i: 10 for i in range(40)}  # an SSD: 80-130 µs
    assert latency_grid(fio_output(spread)).quantised is False
    hdd = {8_200_000: 3, 9_100_000: 5, 12_500_000: 2}  # a disk slower than 1 ms, but not on a grid
    assert latency_grid(fio_output(hdd, "write")).quantised is False
    assert latency_grid_facts(fio_output(spread)) == {"latency_quantised": "no", "latency_zero_ns_share": "0.0000"}


def test_no_bins_no_grid():
    assert latency_grid(json.dumps({"fio version": "fio-3.33", "jobs": [{"read": {"clat_ns": {}}}]})) is None
    assert latency_grid("not json") is None and latency_grid_facts("") == {}


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 10**10), st.integers(0, 10**6), max_size=30))
def test_any_histogram_gives_a_grid_or_none(bins):
    grid = latency_grid(fio_output(bins))
    if grid is None:
        assert sum(bins.values()) == 0
    else:
        assert 0 <= grid.zero_share <= 1 and grid.ios == sum(bins.values())
        if bins.get(0, 0) > 0:  # a 0 ns IO always means a coarse clock
            assert grid.quantised


def test_the_decision_over_clocksource_and_histogram():
    assert latency_clock([{"clocksource": "refined-jiffies"}]).measurable is False
    coarse = latency_clock([{"clocksource": "tsc", "latency_quantised": "yes", "latency_resolution_ns": "4014080"}])
    assert coarse.measurable is False and coarse.shown == "not measurable (clock resolution ≈ 4.01 ms)"
    assert latency_clock([{"clocksource": "tsc", "latency_quantised": "no"}]).measurable is True
    unknown = latency_clock([{}])
    assert unknown.measurable is None and "clocksource" in unknown.why
    assert "timer tick" in latency_clock([{"clocksource": "jiffies"}]).shown


def test_guest_clock_facts_from_the_ready_line_and_the_run_answer():
    ready = {"clocksource": "tsc", "clocksources": "tsc"}
    facts = guest_clock_facts(ready)
    assert facts["clocksource"] == "tsc" and facts["clocksources_available"] == "tsc"
    assert clock_after_run("0 clocksource=refined-jiffies", ready) == {
        "clocksource": "refined-jiffies",
        "clocksource_at_boot": "tsc",
    }
    assert clock_after_run("0 clocksource=tsc", ready) == {"clocksource": "tsc"}
    assert clock_after_run("0", ready) == {}


def test_host_clock_facts(tmp_path):
    (tmp_path / "current_clocksource").write_text("tsc\n")
    (tmp_path / "available_clocksource").write_text("tsc kvm-clock \n")
    assert clock_facts(tmp_path) == {"clocksource": "tsc", "clocksources_available": "tsc,kvm-clock"}
    assert clock_facts(tmp_path / "missing") == {}


JIFFY = {"clocksource": "refined-jiffies", "latency_quantised": "yes", "latency_resolution_ns": str(TICK_NS)}
FINE = {"clocksource": "tsc", "latency_quantised": "no"}


def coarse_guest_run() -> RunBuilder:
    """host on a fine clock; a guest whose latencies read 0 ns (p50) on a 4 ms tick."""
    b = RunBuilder({"host": ("host", {**DISK_FACTS, **FINE}), "vm": ("qemu", {**DISK_FACTS, "accelerator": "tcg"})})
    read = make_cell(workload="rand-read")
    for env, clat, facts in (("host", 150_000.0, FINE), ("vm", 0.0, JIFFY)):
        for cell in (read, QD1_CELL):
            for bw in (100, 101, 99, 100, 102):
                b.add(cell, env, result_for(cell, bw * MiB, clat_p50_ns=clat), facts=facts)
        for _ in range(5):
            sync = 0.0 if env == "vm" else 2e6
            b.add(PROBE_CELL, env, result_for(PROBE_CELL, 10 * MiB, sync_p50_ns=sync), facts=facts)
    return b


def test_latency_checks_are_not_evaluated_on_a_coarse_clock_and_coarse_clock_fires():
    b = coarse_guest_run()
    checks = check_run(b.build(), b.samples)
    vm = {r.check: r for r in checks[(make_cell(workload="rand-read").key, "vm")]}
    assert vm[CheckId.COARSE_CLOCK].fired and "4.01 ms" in vm[CheckId.COARSE_CLOCK].explanation
    assert vm[CheckId.LATENCY_FLOOR].status is CheckStatus.NOT_EVALUATED
    assert "not measurable" in vm[CheckId.LATENCY_FLOOR].explanation
    probe = {r.check: r for r in checks[(PROBE_CELL.key, "vm")]}
    assert (
        probe[CheckId.FLUSH].status is CheckStatus.NOT_EVALUATED
        and "clock resolution" in probe[CheckId.FLUSH].explanation
    )
    host = {r.check: r for r in checks[(QD1_CELL.key, "host")]}
    assert host[CheckId.COARSE_CLOCK].status is CheckStatus.PASSED


def test_no_zero_ns_in_any_format():
    b = coarse_guest_run()
    report = build_report(b.build(), b.samples, policy=Policy(n_boot=300))
    buffer = io.StringIO()
    # verbose: the latency figures are in the details; the default answer shows no latency at all
    render_terminal(report, Console(file=buffer, width=300, highlight=False), verbose=True)
    texts = {
        "terminal": buffer.getvalue(),
        "markdown": render_markdown(report),
        "json": json.dumps(report_dict(report), default=str, ensure_ascii=False),
        "html": render_html(report, b.samples),
    }
    for name, text in texts.items():
        assert not re.search(r"(?<![\d.])0 ns", text), name
        assert "not measurable (clock resolution ≈ 4.01 ms)" in text, name
    vm_cell = next(c for c in report_dict(report)["cells"] if c["environment"] == "vm")
    assert vm_cell["read"]["lat_ns"] == {"p50": None, "p99": None, "p99_9": None}
    host_cell = next(c for c in report_dict(report)["cells"] if c["environment"] == "host")
    assert host_cell["latency_not_measurable"] is None and host_cell["read"]["lat_ns"]["p50"] > 0
