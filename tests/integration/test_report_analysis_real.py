"""A real single-environment run (tiny suite, real fio): the report carries the analysis, and
two trials per cell raise the "fewer than 5 trials" stability warning in JSON and terminal."""

from __future__ import annotations

import json

import pytest

from iocompare.cli.main import main

pytestmark = pytest.mark.integration


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_single_environment_report_shows_stability_warnings(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    code, out, err = run_cli(
        capsys, "run", "--suite", str(tiny_suite(repeat=2)), "--target", str(target), "--name", "warn"
    )
    assert code == 0, err
    assert "host: fewer than 5 trials in " in out  # the report printed after the run has them too

    code, out, err = run_cli(capsys, "report", "warn", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["schema_version"] == 1
    analysis = report["analysis"]
    assert analysis["baseline"] is None and analysis["comparisons"] == [] and analysis["cross_block"] == []
    for cell in report["cells"]:
        assert {"code": "too-few-trials", "environment": "host", "message": "host: 2 trials, fewer than 5"} in cell[
            "warnings"
        ]
        assert [c["id"] for c in cell["checks"]] == [
            "memory-filesystem",
            "working-set-vs-cache",
            "faster-than-host",
            "below-device-latency-floor",
            "byte-accounting",
            "flush-not-honoured",
            "run-sanity",
            "software-emulation",
            "coarse-clock",
            "burst-credit",
        ]
        statuses = {c["id"]: c["status"] for c in cell["checks"]}
        assert statuses["faster-than-host"] == "not applicable"  # the host is its own reference
        assert statuses["run-sanity"] in ("passed", "fired")
        assert cell["flags"] == [c["id"] for c in cell["checks"] if c["status"] == "fired"]

    code, out, err = run_cli(capsys, "report", "warn")
    assert code == 0, err
    assert "one environment (host): no verdicts" in out
    assert "host: fewer than 5 trials in " in out  # the stability warning, said once
    code, out, err = run_cli(capsys, "report", "warn", "--verbose")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "│ host" in line]
    assert len(rows) >= 2 and all("2 trials, fewer than 5" in row for row in rows)
    assert max(len(line) for line in out.splitlines()) <= 160

    code, _, err = run_cli(capsys, "report", "warn", "--baseline", "podman")
    assert code == 2 and "--baseline 'podman' is not an environment" in err
