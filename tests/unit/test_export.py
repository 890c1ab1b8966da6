"""`iocompare export`: trials and summaries as CSV (one table) or JSON (both), documented columns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from builders import make_result
from stored_runs import EVIL, hostile_builder, store_run

from iocompare.cli.main import main
from iocompare.model import Sample
from iocompare.report.cell_stats import cpu_per_io
from iocompare.report.export import SUMMARY_COLUMNS, TRIAL_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "export.md"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "r.db"
    store_run(path, hostile_builder())
    return path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_csv_trials_one_row_per_trial(db, capsys):
    code, out, err = cli(capsys, "export", "evil-run", "--db", str(db), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == TRIAL_COLUMNS
    assert len(rows) == 2 * (5 + 3 + 3)
    assert {r["environment"] for r in rows} == {"host", EVIL}  # data, not markup: kept as is
    first = rows[0]
    assert first["status"] == "ok" and float(first["read_iops"]) > 0 and first["write_iops"] == ""
    assert int(first["monitor_samples"]) == 2 and float(first["host_cpu_s_per_io"]) > 0


def test_csv_summaries_and_json_both_tables(db, capsys, tmp_path):
    code, out, _ = cli(capsys, "export", "evil-run", "--db", str(db), "--format", "csv", "--table", "summaries")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and tuple(rows[0]) == SUMMARY_COLUMNS and len(rows) == 2 * 3
    evil = [r for r in rows if r["environment"] == EVIL]
    assert all(r["verdict"] and r["baseline"] == "host" and "software-emulation" in r["flags"] for r in evil)
    assert all(
        float(r["bw_bytes_per_s_ci_low"]) <= float(r["bw_bytes_per_s_mean"]) <= float(r["bw_bytes_per_s_ci_high"])
        for r in rows
    )
    target = tmp_path / "x.json"
    assert cli(capsys, "export", "evil-run", "--db", str(db), "--format", "json", "--output", str(target))[0] == 0
    doc = json.loads(target.read_text())
    assert doc["schema"] == "iocompare-export" and doc["schema_version"] == 1
    assert len(doc["trials"]) == 22 and len(doc["summaries"]) == 6
    assert set(doc["trials"][0]) == set(TRIAL_COLUMNS) and set(doc["summaries"][0]) == set(SUMMARY_COLUMNS)
    code, _, err = cli(capsys, "export", "evil-run", "--db", str(db), "--format", "json", "--table", "summaries")
    assert code == 2 and "--table is for --format csv" in err


def test_every_column_is_documented():
    doc = DOC.read_text()
    for column in {*TRIAL_COLUMNS, *SUMMARY_COLUMNS}:
        assert f"`{column}`" in doc, column


def test_cpu_per_io_definition():
    result = make_result()  # 250k read IOPS for 30 s
    samples = [Sample(0.0, 50.0, 80.0, 0, 0, 0), Sample(1.0, 50.0, 120.0, 0, 0, 0)]
    host, env = cpu_per_io(result, samples, cpu_count=4)
    ios = result.read.total_ios
    assert host == pytest.approx(0.5 * 4 * 30 / ios) and env == pytest.approx(1.0 * 30 / ios)
    assert cpu_per_io(result, [], 4) == (None, None)
    assert cpu_per_io(result, samples, None)[0] is None
