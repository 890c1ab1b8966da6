"""`iocompare import`: real fio 3.33 outputs (tests/fixtures/fio) in several shapes become a stored
run that report, export and compare accept; bad files are listed in one line and nothing stays."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from iocompare.cli.main import main
from iocompare.engines.fio_import import read_files
from iocompare.engines.fio_parse import parse_fio_output
from iocompare.model import Pattern
from iocompare.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
GOOD = ["randread_qd32_4k.json", "randread_qd32_4k_plain.json", "randrw_70_30.json", "seqwrite_1m.json",
        "fsync_probe.json", "randread_two_jobs_no_group.json", "client_server_two_clients.json",
        "client_server_fsync_probe.json"]  # fmt: skip


def fx(*names: str) -> list[str]:
    return [str(FIXTURES / n) for n in names]


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_shapes_map_to_cells():
    plan = read_files([FIXTURES / n for n in GOOD])
    assert plan.errors == []
    by_file = {t.source.name: t for t in plan.trials}
    rr = by_file["randread_qd32_4k.json"].cell
    assert (
        rr.pattern,
        rr.block_size_bytes,
        rr.iodepth,
        rr.numjobs,
        rr.ioengine,
        rr.direct,
        rr.runtime_s,
        rr.working_set_bytes,
    ) == (Pattern.RAND_READ, 4096, 32, 1, "libaio", True, 1, 64 << 20)
    assert by_file["randread_qd32_4k_plain.json"].cell == rr  # json and json+ of one shape: one cell
    mixed = by_file["randrw_70_30.json"].cell
    assert mixed.pattern is Pattern.MIXED_RAND and mixed.read_percent == 70
    assert by_file["seqwrite_1m.json"].cell.block_size_bytes == 1 << 20
    assert (
        by_file["fsync_probe.json"].cell.pattern is Pattern.FSYNC_PROBE
        and by_file["fsync_probe.json"].result.sync is not None
    )
    two = by_file["randread_two_jobs_no_group.json"]
    assert two.cell.numjobs == 2 and two.result.job_count == 2  # both job entries summed into one trial
    clients = by_file["client_server_two_clients.json"]
    assert (
        clients.cell.workload.endswith("-2clients") and clients.result.job_count == 2
    )  # "All clients" not counted twice
    assert clients.facts["fio_clients"].count("sock") == 2
    # The stored result is what fio_parse makes of the same file.
    assert by_file["randrw_70_30.json"].result == parse_fio_output(
        (FIXTURES / "randrw_70_30.json").read_text(), cell=mixed
    )


def test_import_then_report_export_and_compare(tmp_path, capsys):
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "import", *fx(*GOOD), "--env", "box", "--run", "old", "--db", str(db))
    assert code == 0, err
    assert "as run 1 (old)" in out and "8 trial(s)" in out
    with Store.open(db, create=False) as store:
        run = store.load_run(1)
        kind, facts = run.environments["box"]
        assert kind == "imported" and facts["fio_version"] == "fio-3.33" and "import_unknown" in facts
        assert len(run.trials) == 8 and all(t.status.value == "ok" for t in run.trials)
        raw = store.raw_output(run.trials[0].id)
        assert raw is not None and '"fio version"' in raw  # the file is kept for re-parsing
    code, out, err = cli(capsys, "report", "old", "--db", str(db), "--format", "json")
    assert code == 0, err
    cells = {c["key"] for c in json.loads(out)["cells"]}
    assert {"rand-read-qd32@4k", "mixed-rand-70-qd32@4k", "seq-write-qd16@1m", "fsync-probe-qd1@4k"} <= cells
    assert (
        cli(capsys, "report", "old", "--db", str(db), "--format", "html", "--output", str(tmp_path / "r.html"))[0] == 0
    )
    assert cli(capsys, "export", "old", "--db", str(db), "--format", "csv")[0] == 0
    assert (
        cli(
            capsys,
            "import",
            *fx("randread_qd32_4k.json", "randread_qd32_4k_plain.json"),
            "--env",
            "box",
            "--run",
            "new",
            "--db",
            str(db),
        )[0]
        == 0
    )
    code, out, err = cli(capsys, "compare", "old", "new", "--db", str(db), "--format", "json")
    assert code in (0, 1), err
    assert json.loads(out)


def test_bad_files_one_line_each_exit_2_nothing_stored(tmp_path, capsys):
    db = tmp_path / "r.db"
    assert cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", "box", "--run", "keep", "--db", str(db))[0] == 0
    empty = tmp_path / "empty.json"
    empty.write_text("")
    text = tmp_path / "notes.txt"
    text.write_text("no json here\n")
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    trim = tmp_path / "trim.json"
    doc = json.loads((FIXTURES / "randread_qd32_4k.json").read_text())
    doc["jobs"][0]["job options"]["rw"] = "randtrim"
    trim.write_text(json.dumps(doc))
    bad = [str(empty), str(text), str(binary), str(other), str(trim), str(tmp_path / "missing.json"),
           *fx("unaligned_bs_error.json", "missing_file_error.json")]  # fmt: skip
    code, out, err = cli(
        capsys, "import", *fx("randread_qd32_4k.json"), *bad, "--env", "box", "--run", "partial", "--db", str(db)
    )
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "iocompare: error: 8 of 9 file(s) not imported; nothing was stored: "
    )
    starts = [lines[0].index(f"{path}: ") for path in bad]
    assert starts == sorted(starts)  # in the order given
    parts = [lines[0][a:b] for a, b in zip(starts, [*starts[1:], len(lines[0])], strict=True)]
    assert "fio output is empty" in parts[0] and "contains no JSON" in parts[1] and "not a text file" in parts[2]
    assert "no 'fio version'" in parts[3] and "randtrim" in parts[4] and "cannot read" in parts[5]
    assert "error 22" in parts[6] and "completed no IO" in parts[7]
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM runs")] == ["keep"]
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 1
    assert not (tmp_path / "fresh.db").exists()
    code, _, _ = cli(capsys, "import", str(empty), "--env", "box", "--db", str(tmp_path / "fresh.db"))
    assert code == 2 and not (tmp_path / "fresh.db").exists()


def test_a_failure_while_storing_leaves_no_run(tmp_path, capsys, monkeypatch):
    db = tmp_path / "r.db"
    real = Store.record_trial
    calls = []

    def fail_on_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "record_trial", fail_on_third)
    # A failing disk is not bad input: exit 1, one line, no traceback.
    assert main(["import", *fx(*GOOD), "--env", "box", "--run", "broken", "--db", str(db)]) == 1
    assert capsys.readouterr().err.strip() == (
        "iocompare: error: the results database cannot be used: disk I/O error (hint: use another --db)"
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM cells").fetchone()[0] == 0


def test_run_name_taken_and_labels(tmp_path, capsys):
    db = tmp_path / "r.db"
    assert cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", "<script>alert(1)</script>", "--db", str(db))[0] == 0
    assert (
        cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", "x", "--db", str(db))[0] == 0
    )  # default names do not collide
    assert cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", "x", "--run", "a", "--db", str(db))[0] == 0
    code, _, err = cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", "y", "--run", "a", "--db", str(db))
    assert code == 2 and f"{fx('seqwrite_1m.json')[0]}: already imported into run a" in err
    code, _, err = cli(capsys, "import", *fx("seqwrite_1m.json"), "--env", " ", "--db", str(db))
    assert code == 2 and "--env must not be empty" in err
    with Store.open(db, create=False) as store:
        assert len(store.list_runs()) == 3
