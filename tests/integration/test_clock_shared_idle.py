"""Issue 11, with the real tools: a TCG guest on a usable clock (no "0 ns" anywhere, latency checks
not fired on clock grounds), one working-set file shared by host, podman and a raw-disk QEMU guest
(the same file and extents in their facts), and the idle gap before every trial's fio recorded."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from iocompare.analysis.artifacts import CheckId, CheckStatus
from iocompare.analysis.runchecks import check_run
from iocompare.cli.main import main
from iocompare.facts.judge import latency_clock
from iocompare.report.build import build_report
from iocompare.report.html import render_html
from iocompare.report.json_report import report_dict
from iocompare.report.markdown import render_markdown
from iocompare.report.terminal import render_terminal
from iocompare.store import Store

pytestmark = pytest.mark.integration

SUITE = """
name = "issue11"
runtime_s = 2
ramp_s = 0
repeat = 2
max_repeat = 2
settle_s = 1
environments = ["host", "podman", "qemu"]

[working_set]
size = "64m"
min_size = "64m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["1m"]
"""


def test_shared_working_set_fine_guest_clock_and_equal_idle(tmp_path, capsys, isolated_db, guest_image, fresh_engines):
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "issue11.toml"
    suite.write_text(SUITE)
    code = main(["run", "--suite", str(suite), "--target", str(target), "--name", "issue11"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert list(target.iterdir()) == []  # the shared file went with the last environment

    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("issue11"))
        samples = {t.id: store.samples(t.id) for t in run.trials}
    ok = [t for t in run.trials if t.status.value == "ok"]
    assert {t.trial.environment for t in ok} == {"host", "podman", "qemu"}

    # One working-set file, the same extents, for every environment (references included).
    files = {(t.trial.environment, t.facts.get("working_set_file")) for t in ok}
    assert len({f for _, f in files}) == 1 and None not in {f for _, f in files}, files
    extents = {t.facts.get("working_set_extents") for t in ok}
    assert len(extents) == 1 and next(iter(extents)).split()[1] == "extents", extents
    assert {t.facts.get("working_set_shared_with") for t in ok} == {"host, podman, qemu"}

    # The guest runs on the TSC it was told is reliable, and says so; the host's clock is recorded.
    guest = [t for t in ok if t.trial.environment == "qemu"]
    _kind, qemu_facts = run.environments["qemu"]
    assert qemu_facts.get("accelerator") == "tcg" and "tsc=reliable" in qemu_facts["guest_kernel_cmdline"]
    assert "tsc=reliable" in qemu_facts["clocksource_chosen_by"]
    assert {t.facts.get("clocksource") for t in guest} == {"tsc"}, [t.facts.get("clocksource") for t in guest]
    assert run.host_facts.get("clocksource")
    assert latency_clock([{**qemu_facts, **t.facts} for t in guest]).measurable is True

    # Every trial records its idle gap, never shorter than the settle time in force.
    for t in ok:
        assert float(t.facts["idle_gap_s"]) >= float(t.facts["settle_s"]) - 0.01 >= 0.99, t.facts

    checks = check_run(run, samples)
    for (key, env), results in checks.items():
        by_id = {r.check: r for r in results}
        assert not by_id[CheckId.LATENCY_FLOOR].fired and not by_id[CheckId.FLUSH].fired, (key, env)
        assert by_id[CheckId.COARSE_CLOCK].status is CheckStatus.PASSED, (key, env, by_id[CheckId.COARSE_CLOCK])
        assert by_id[CheckId.BURST_CREDIT].status is not CheckStatus.NOT_EVALUATED, (key, env)

    report = build_report(run, samples)
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=300, highlight=False))
    for name, text in {
        "terminal": buffer.getvalue(),
        "markdown": render_markdown(report),
        "json": json.dumps(report_dict(report), default=str),
        "html": render_html(report, samples),
    }.items():
        assert not re.search(r"(?<![\d.])0 ns", text), name


def test_a_separate_twin_keeps_its_own_file(tmp_path, capsys, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "aa.toml"
    suite.write_text(SUITE.replace('["host", "podman", "qemu"]', '["host", "host:twin"]').replace("= 1\n", "= 0\n"))
    assert main(["run", "--suite", str(suite), "--target", str(target), "--name", "aa"]) == 0, capsys.readouterr().err
    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("aa"))
    files = {t.trial.environment: t.facts.get("working_set_file") for t in run.trials if t.status.value == "ok"}
    assert files["host"] != files["host:twin"] and Path(files["host:twin"]).name == Path(files["host"]).name
