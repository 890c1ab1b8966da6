"""Drive `iocompare run` and `report` in-process against the real fio on the host."""

from __future__ import annotations

import json
import os

import pytest

from iocompare.cli.main import main
from iocompare.store import Store

pytestmark = pytest.mark.integration


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_then_json_report(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    code, out, err = run_cli(
        capsys, "run", "--suite", str(tiny_suite(repeat=2)), "--target", str(target), "--name", "cli-test"
    )
    assert code == 0, err
    assert "stored as run 1" in out and "rand-read@4k" in out and "MiB/s" in out
    assert "iocompare report 1" in out
    assert os.listdir(target) == []  # scratch files removed at the end

    code, out, err = run_cli(capsys, "report", "latest", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["schema"] == "iocompare-report" and report["schema_version"] == 1
    assert report["run"]["name"] == "cli-test" and report["run"]["status"] == "complete"
    cells = {c["key"]: c for c in report["cells"]}
    assert set(cells) == {"rand-read@4k", "seq-write@1m"}
    read = cells["rand-read@4k"]
    assert read["environment"] == "host" and read["n"] == 2 and read["iodepth"] == 32
    assert read["read"]["iops"] > 0 and read["write"] is None
    assert 0 < read["read"]["lat_ns"]["p50"] <= read["read"]["lat_ns"]["p99"] <= read["read"]["lat_ns"]["p99_9"]
    assert read["read"]["bw_bytes_per_s"] == pytest.approx(read["read"]["iops"] * 4096, rel=0.02)
    write = cells["seq-write@1m"]
    assert write["write"]["bw_bytes_per_s"] > 0 and write["read"] is None
    facts = read["facts"]
    for key in ("fs_type", "fio_version", "target_path", "mount_options"):
        assert facts[key]
    assert report["host"]["kernel"] and report["host"]["cpu_model"]
    assert read["monitor"]["host_cpu_pct"] is not None

    code, out, _ = run_cli(capsys, "report", "1", "--format", "markdown")
    assert code == 0 and "| rand-read@4k QD32 | host | 2/2 |" in out

    code, out, _ = run_cli(capsys, "runs")
    assert code == 0 and "cli-test" in out and "complete" in out


def test_raw_fio_output_is_kept_and_reparseable(tmp_path, capsys, tiny_suite, isolated_db):
    from iocompare.engines.fio_parse import parse_fio_output

    target = tmp_path / "t"
    target.mkdir()
    assert run_cli(capsys, "run", "--suite", str(tiny_suite()), "--target", str(target))[0] == 0
    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("latest"))
        stored = run.trials[0]
        raw = store.raw_output(stored.id)
        samples = store.samples(stored.id)
    assert parse_fio_output(raw, cell=stored.trial.cell) == stored.result
    assert samples and samples[-1].free_bytes > 0
    assert stored.facts["host_caches_dropped"] in {"yes"} or stored.facts["host_caches_dropped"].startswith("no (")
    assert "randseed=" + str(stored.trial.seed) in stored.facts["fio_job"]


def test_report_to_a_file_is_written_whole(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "t"
    target.mkdir()
    assert run_cli(capsys, "run", "--suite", str(tiny_suite()), "--target", str(target))[0] == 0
    output = tmp_path / "report.md"
    assert run_cli(capsys, "report", "--format", "markdown", "--output", str(output))[0] == 0
    assert output.read_text().startswith("# iocompare run 1")
    code, _, err = run_cli(capsys, "report", "--format", "json", "--output", str(tmp_path / "missing" / "r.json"))
    assert code == 2 and "output directory" in err
    assert not (tmp_path / "missing").exists()


def test_dry_run_prints_plan_and_writes_nothing(tmp_path, capsys, isolated_db):
    code, out, _ = run_cli(capsys, "run", "--suite", "standard", "--dry-run", "--target", str(tmp_path))
    assert code == 0
    assert "65 cells x 1 environment(s) (host) x 5 to 20 repetitions (adaptive" in out
    assert "= 325 to 1300 trials" in out  # the plan counts to the cap, not only the minimum
    assert "estimated duration: " in out and " to " in out.split("estimated duration: ")[1].splitlines()[0]
    assert "disk space: 2 GiB scratch" in out
    assert (not isolated_db.exists() and os.listdir(tmp_path) == ["db"]) or os.listdir(tmp_path) == []
    assert not isolated_db.parent.exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--suite", "nope"], "unknown suite 'nope'"),
        (["run", "--runtime", "0"], "--runtime 0 is out of range"),
        (["run", "--repeat", "-1"], "--repeat -1 is out of range"),
        (["run", "--ramp", "x"], "'--ramp'"),
        (["run", "--env", "martian"], "unknown environment 'martian'"),
        (["run", "--target", "/definitely/not/here"], "target directory /definitely/not/here does not exist"),
        (["report", "42"], "no database at"),
        (["report", "--format", "pdf"], "pdf"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, isolated_db, argv, fragment):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iocompare: error:") and fragment in lines[0], err
    assert "Traceback" not in err + out
    assert not isolated_db.exists()


def test_unknown_run_in_existing_db(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "t"
    target.mkdir()
    assert run_cli(capsys, "run", "--suite", str(tiny_suite()), "--target", str(target))[0] == 0
    code, _, err = run_cli(capsys, "report", "nosuchrun")
    assert code == 2 and "no run 'nosuchrun'" in err


def test_bad_suite_file_names_field_and_value(tmp_path, capsys, isolated_db):
    suite = tmp_path / "bad.toml"
    suite.write_text('name = "b"\n[[workloads]]\nname = "w"\npattern = "rand-read"\nblock_sizes = ["3k"]\n')
    code, _, err = run_cli(capsys, "run", "--suite", str(suite))
    assert code == 2 and "workloads[0].block_sizes[0] = '3k'" in err
    assert not isolated_db.exists()


def test_schema_suites_envs(capsys):
    code, out, _ = run_cli(capsys, "schema")
    assert code == 0 and json.loads(out)["properties"]["workloads"]
    code, out, _ = run_cli(capsys, "suites")
    assert code == 0 and "quick" in out and "rand-read-qd1" in out
    code, out, _ = run_cli(capsys, "envs")
    assert code == 0 and "host" in out and "available" in out


def test_missing_or_old_fio_is_bad_input(tmp_path, capsys, isolated_db):
    code, _, err = run_cli(capsys, "run", "--fio", str(tmp_path / "nofio"), "--target", str(tmp_path))
    assert code == 2 and "fio not found" in err
    old = tmp_path / "fio"
    old.write_text("#!/bin/sh\necho fio-2.21\n")
    old.chmod(0o755)
    code, _, err = run_cli(capsys, "run", "--fio", str(old), "--target", str(tmp_path))
    assert code == 2 and "fio version fio-2.21 is older than 3.0" in err
    assert not isolated_db.exists()


def test_relative_target_is_resolved(tmp_path, capsys, tiny_suite, isolated_db, monkeypatch):
    (tmp_path / "rel").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "run", "--suite", str(tiny_suite()), "--target", "rel")
    assert code == 0, err
    assert os.listdir(tmp_path / "rel") == []
