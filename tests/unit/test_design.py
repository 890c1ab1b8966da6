"""The design line and cost range that the dry run prints, from the suite alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from iocompare.spec.design import cost_range, describe_design, stored_design, trial_seconds
from iocompare.spec.expand import expand
from iocompare.spec.models import Suite


def suite(**fields: object) -> Suite:
    base: dict[str, object] = {
        "name": "s",
        "workloads": [{"name": "rr", "pattern": "rand-read"}],
        "block_sizes": ["4k", "64k"],
        "environments": ["host", "host:twin"],
    }
    return Suite.model_validate({**base, **fields})


def test_fixed_trials_cost_the_planned_rounds_to_the_cap_at_full_length() -> None:
    s = suite(ramp_s=5, runtime_s=30, repeat=5, max_repeat=20)
    cost = cost_range(expand(s, run_seed=1))
    assert trial_seconds(s) == (35, 35)
    assert (cost.trials_min, cost.trials_max) == (2 * 2 * 5, 2 * 2 * 20)
    assert (cost.fio_s_min, cost.fio_s_max) == (20 * 35, 80 * 35)
    assert describe_design(s).startswith("design: adaptive with futility stop, fixed trials of ramp 5 s + runtime 30 s")


def test_steady_state_trials_can_end_after_the_window_and_the_quick_design_has_no_rounds() -> None:
    s = suite(ramp_s=2, runtime_s=10, repeat=5, max_repeat=5, steady_state={"window_s": 3})
    cost = cost_range(expand(s, run_seed=1))
    assert trial_seconds(s) == (2 + 5, 12)
    assert (cost.trials_min, cost.trials_max, cost.fio_s_min, cost.fio_s_max) == (20, 20, 20 * 7, 20 * 12)
    text = describe_design(s)
    assert "at most 10 s, ended once steady (bandwidth slope under 2 %/s over 3 s)" in text
    assert "no adaptive rounds" in text


def test_a_steady_state_window_must_fit_in_the_runtime() -> None:
    with pytest.raises(ValidationError, match="window_s 5 must be shorter than runtime_s 5"):
        suite(runtime_s=5, steady_state={"window_s": 5})
    with pytest.raises(ValidationError):
        suite(steady_state={"window_s": 3, "slope_percent": 0})


def test_a_stored_runs_design_is_read_back_and_an_import_has_none() -> None:
    s = suite(ramp_s=2, runtime_s=10, steady_state={"window_s": 3})
    assert stored_design(s.model_dump_json()) == describe_design(s)
    assert stored_design("{}") is None


def test_every_report_format_states_the_design_its_expected_cost_and_what_it_spent() -> None:
    import dataclasses
    import io
    import re

    from analysis_runs import MiB, RunBuilder
    from builders import make_cell
    from rich.console import Console

    from iocompare.report.build import build_report
    from iocompare.report.html import render_html
    from iocompare.report.json_report import report_dict
    from iocompare.report.markdown import render_markdown
    from iocompare.report.terminal import render_terminal

    s = suite(ramp_s=2, runtime_s=10, repeat=5, max_repeat=20, stop_futile=True, steady_state={"window_s": 3})
    b = RunBuilder({"host": ("host", {}), "host:twin": ("host", {})})
    cell = make_cell(workload="rr", ramp_s=2, runtime_s=10)
    for env in ("host", "host:twin"):
        b.add_values(cell, env, [v * MiB for v in (100.0, 101.0, 99.0, 100.5, 99.5)])
    run = dataclasses.replace(b.build(), suite_json=s.model_dump_json())
    report = build_report(run, b.samples)
    expected = describe_design(s)
    # one cell x two environments: 10 planned trials, 40 at the cap; 2 + 5 s to 12 s each
    cost = "expected 10-40 trials, fio 1m10s to 8m00s"
    terminal = io.StringIO()
    render_terminal(report, Console(file=terminal, width=400, highlight=False))
    html = re.sub(r"<[^>]+>", "", render_html(report, b.samples))
    for text in (render_markdown(report), html, terminal.getvalue()):
        flat = " ".join(text.split())
        assert expected in flat and cost in flat and "spent 10 trials, fio" in flat
    design = report_dict(report)["run"]["design"]
    assert design["name"] == "adaptive with futility stop" and (design["n_min"], design["n_max"]) == (5, 20)
    assert design["expected"] == {"trials_min": 10, "trials_max": 40, "fio_s_min": 70, "fio_s_max": 480}
    assert design["trials"] == 10 and design["fio_s_spent"] > 0
    imported = build_report(b.build(), b.samples)  # suite "{}": an import has no design
    assert report_dict(imported)["run"]["design"] is None
    assert "design:" not in render_markdown(imported)
