"""The terminal report leads with the answer and fits the width it is given: a stored run of three
environments (host, podman, qemu under TCG) rendered through `iocompare report` at 80 and 120
columns (COLUMNS, stdout piped as in a test), `--plain`, `--verbose`, and the run's settings in the
header of every format."""

from __future__ import annotations

import json
import re

import pytest
from analysis_runs import DISK_FACTS, HOST_FACTS, QD1_CELL, MiB, RunBuilder, seq_write_cell
from builders import make_cell, make_fio_run

from iocompare.cli.main import main
from iocompare.report.answer import number
from iocompare.report.build import build_report
from iocompare.spec.load import load_suite
from iocompare.store import RunStatus, Store

QEMU = {
    **DISK_FACTS,
    "vmm": "qemu",
    "accelerator": "tcg",
    "timing_caveat": "software emulation (TCG): timings do not represent a KVM host",
}
LONG = make_cell(workload="a-rather-long-workload-name-someone-chose", block_size_bytes=64 << 10)
CELLS = {seq_write_cell(): (4778.9, 1.08, 0.26), QD1_CELL: (52.4, 0.83, 0.14), LONG: (1234.5, 1.0, 0.3)}
ARGV = "/usr/local/bin/iocompare run --suite quick --env podman --env qemu --repeat 5 --runtime 2"


def three_environments() -> RunBuilder:
    b = RunBuilder(
        {"host": ("host", dict(DISK_FACTS)), "podman": ("podman", dict(DISK_FACTS)), "qemu": ("qemu", dict(QEMU))},
        host_facts={**HOST_FACTS, "cpu_count": "2"},
    )
    spread = (1.0, 1.02, 0.98, 1.01, 0.99)
    for cell, (base, podman, qemu) in CELLS.items():
        for env, factor in (("host", 1.0), ("podman", podman), ("qemu", qemu)):
            b.add_values(cell, env, [base * MiB * factor * s for s in spread])
    return b


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "r.db"
    b = three_environments()
    run = b.build()
    suite = load_suite("quick", {"runtime_s": 2, "environments": ["host", "podman", "qemu"]})
    settings = {
        "target": "/var/tmp",
        "argv": ARGV,
        "fio": "fio-3.33",
        "overrides": {"runtime_s": 2, "repeat": 5, "environments": ["podman", "qemu"]},
    }
    with Store.open(path) as s:
        run_id = s.create_run(
            name="three",
            suite_name="quick",
            suite_json=suite.model_dump_json(),
            settings=settings,
            host_facts=run.host_facts,
            environments=[(e, k, f) for e, (k, f) in run.environments.items()],
            cells=run.cells,
        )
        for t in run.trials:
            s.record_trial(
                run_id,
                t.trial,
                status=t.status,
                reason=t.reason,
                started_at=float(t.id),
                ended_at=t.id + 1.0,
                result=t.result,
                raw=make_fio_run(),
                facts=t.facts,
                samples=b.samples.get(t.id, []),
            )
        s.finish_run(run_id, RunStatus.COMPLETE)
    return path


def report_text(db, capsys, monkeypatch, *args: str, columns: int | None = None) -> str:
    if columns is not None:
        monkeypatch.setenv("COLUMNS", str(columns))
    capsys.readouterr()
    assert main(["report", "three", "--db", str(db), *args]) == 0
    return capsys.readouterr().out


def expected_numbers() -> set[str]:
    """Every figure the matrix must show whole: the geometric means and the ratios."""
    report = build_report(three_environments().build())
    out = {number(s.geomean_bw_bps) for s in report.summaries.values()}
    out |= {f"{c.estimate.ratio:.2f}" for c in report.analysis.comparisons if c.estimate}
    return out


@pytest.mark.parametrize("width", [80, 120])
def test_the_answer_comes_first_and_fits_the_width(db, capsys, monkeypatch, width):
    text = report_text(db, capsys, monkeypatch, columns=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, max(lines, key=len)
    first = lines[:15]
    assert any(line.startswith("  podman: ") and "x (" in line for line in first), first
    assert any(line.startswith("  qemu: ") for line in first), first
    assert "…" not in text  # rich's mark of a cut cell
    matrix = text[text.index("\ncell ") : text.index("MiB/s: geometric mean")]
    tokens = set(re.findall(r"[<\d][\d,.]*", matrix))
    missing = expected_numbers() - tokens
    assert not missing, (missing, matrix)
    # One line per environment, every count present, and the suspect environment never reads as slower.
    podman = next(line for line in lines if line.startswith("  podman: "))
    assert "1 faster" in " ".join(lines[lines.index(podman) : lines.index(podman) + 2])
    start = next(i for i, line in enumerate(lines) if line.startswith("  qemu: "))
    qemu_block = " ".join(lines[start : start + 2])
    assert "3 suspect" in qemu_block and "0 slower" in qemu_block
    assert "software emulation (TCG)" in text and "details (--verbose)" in text
    assert text.count("CV ") <= 1  # a stability warning is said once, not per table


def test_the_header_says_how_the_run_was_configured_in_every_format(db, capsys, monkeypatch, tmp_path):
    want = (
        "suite quick; 5 trials per cell (fixed); ramp 1 s + runtime 2 s",
        "--runtime 2",
        "command: iocompare run --suite quick --env podman --env qemu --repeat 5 --runtime 2",
    )
    terminal = report_text(db, capsys, monkeypatch, columns=200)
    markdown = report_text(db, capsys, monkeypatch, "--format", "markdown")
    assert main(["report", "three", "--db", str(db), "--format", "html", "--output", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    for text in (terminal, markdown, html):
        for needle in want:
            assert needle in text, needle
    data = json.loads(report_text(db, capsys, monkeypatch, "--format", "json"))["run"]["effective"]
    assert data["runtime_s"] == 2 and data["ramp_s"] == 1 and data["repeat"] == data["max_repeat"] == 5
    assert ["--runtime", "2"] in data["overrides"] and data["command"] == ARGV
    assert oct((tmp_path / "r.html").stat().st_mode & 0o777) == oct(0o666 & ~current_umask())


def current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_plain_is_tab_separated_with_one_row_per_cell_and_environment(db, capsys, monkeypatch):
    text = report_text(db, capsys, monkeypatch, "--plain", columns=40)
    rows = [line.split("\t") for line in text.splitlines()]
    assert rows[0][:5] == ["cell", "workload", "block_size_bytes", "iodepth", "environment"]
    assert len(rows) == 1 + len(CELLS) * 3 and len({len(r) for r in rows}) == 1
    seq = {r[4]: r for r in rows[1:] if r[0] == "seq-write@1m"}
    assert seq["host"][12] == "baseline" and seq["qemu"][12] == "suspect" and seq["podman"][12] == "faster"
    assert float(seq["host"][7]) == pytest.approx(4778.9, rel=0.01)  # MiB/s, the geometric mean


def test_verbose_adds_the_details_and_plain_refuses_other_formats(db, capsys, monkeypatch):
    text = report_text(db, capsys, monkeypatch, "--verbose", columns=160)
    assert "verdicts against host" in text and "p / adj. p" in text and "results" in text
    assert main(["report", "three", "--db", str(db), "--format", "json", "--plain"]) == 2


def test_cells_without_a_baseline_run_one_environment(tmp_path, capsys, monkeypatch):
    b = RunBuilder()
    b.add_values(QD1_CELL, "host", [50 * MiB, 51 * MiB, 49 * MiB])
    from stored_runs import store_run

    store_run(tmp_path / "one.db", b, name="one")
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["report", "one", "--db", str(tmp_path / "one.db")]) == 0
    text = capsys.readouterr().out
    assert "one environment (host): no verdicts" in text and max(map(len, text.splitlines())) <= 80


def test_many_environments_split_into_blocks_that_fit():
    from iocompare.report.answer import matrix_lines

    envs = ["host", *(f"podman:volume-{i}" for i in range(6))]
    b = RunBuilder({e: ("podman" if e != "host" else "host", dict(DISK_FACTS)) for e in envs})
    for env in envs:
        b.add_values(QD1_CELL, env, [52.4 * MiB * s for s in (1.0, 1.02, 0.98, 1.01, 0.99)])
    lines = matrix_lines(build_report(b.build()), 80)
    assert max(map(len, lines)) <= 80
    headers = " ".join(line for line in lines if line.startswith("cell") or not line.startswith("rand"))
    assert all(e in headers for e in envs[1:]) and sum(line.startswith("cell") for line in lines) >= 2


def test_a_cell_without_a_number_says_why():
    from iocompare.model import TrialStatus
    from iocompare.report.terminal import problem_lines

    b = three_environments()
    b.add(QD1_CELL, "qemu", None, status=TrialStatus.FAILED, reason="guest did not boot: timeout after 120 s")
    lines = problem_lines(build_report(b.build()))
    assert lines == [f"qemu {QD1_CELL.key}: 1 failed: guest did not boot: timeout after 120 s"]
