"""`iocompare compare RUN_A RUN_B` in-process over a database written through the Store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from analysis_runs import DISK_FACTS, HOST_FACTS, MiB, RunBuilder, seq_write_cell
from builders import make_cell, make_fio_run

from iocompare.analysis.artifacts import NETWORK_CHECKS, CheckId
from iocompare.cli.main import main
from iocompare.store import RunStatus, Store

READ = make_cell(workload="rand-read")
WRITE = seq_write_cell()
TIGHT = [1000.0, 1002.0, 998.0, 1001.0, 999.0]


def builder(read: float = 1.0, write: float = 1.0, *, fs: str = "ext4", cells=(READ, WRITE)) -> RunBuilder:
    b = RunBuilder({"host": ("host", {**DISK_FACTS, "fs_type": fs})})
    for cell, factor in zip(cells, (read, write), strict=False):
        b.add_values(cell, "host", [v * MiB * factor for v in TIGHT], clat_p50_ns=150_000.0)
    return b


def store(
    db: Path, b: RunBuilder, name: str, *, host_facts: dict[str, str] | None = None, fio: str = "fio-3.33"
) -> int:
    """Write a RunBuilder's run through the real Store, as `iocompare run` would."""
    run = b.build()
    with Store.open(db) as s:
        run_id = s.create_run(
            name=name,
            suite_name="test",
            suite_json="{}",
            settings={"fio": fio, "target": "/mnt/t", "run_seed": hash(name) & 0xFFFF},
            host_facts=host_facts or HOST_FACTS,
            environments=[(env, kind, facts) for env, (kind, facts) in run.environments.items()],
            cells=run.cells,
        )
        for t in run.trials:
            s.record_trial(
                run_id,
                t.trial,
                status=t.status,
                reason=t.reason,
                started_at=0.0,
                ended_at=1.0,
                result=t.result,
                raw=make_fio_run(),
                facts=t.facts,
                samples=b.samples.get(t.id, []),
            )
        s.finish_run(run_id, RunStatus.COMPLETE)
    return run_id


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results.db"


def test_a_regression_exits_1_and_names_the_cell(capsys, db):
    store(db, builder(), "before")
    store(db, builder(read=0.8), "after")
    code, out, err = cli(capsys, "compare", "before", "after", "--db", str(db))
    assert code == 1, err
    assert "REGRESSION: 1 cell(s)" in out and "rand-read@4k in host: 20 % slower (CI " in out
    assert "seq-write@1m" in out and "no significant difference (CI " in out


def test_identical_runs_exit_0_with_no_significant_difference(capsys, db):
    store(db, builder(), "a")
    store(db, builder(), "b")
    code, out, err = cli(capsys, "compare", "1", "2", "--db", str(db))
    assert code == 0, err
    assert out.count("no significant difference (CI -0 to +0 %)") == 2
    assert "facts that differ between the runs: none" in out
    assert "no significant regression beyond the 5% threshold" in out


def test_differing_facts_are_listed_before_the_verdicts(capsys, db):
    store(db, builder(), "old-kernel")
    store(db, builder(fs="xfs"), "new-kernel", host_facts={**HOST_FACTS, "kernel": "6.8.0"}, fio="fio-3.36")
    code, out, _ = cli(capsys, "compare", "old-kernel", "new-kernel", "--db", str(db))
    assert code == 0
    facts = out.index("facts that differ")
    for fragment in ("6.1.0", "6.8.0", "fio-3.33", "fio-3.36", "fs_type", "xfs"):
        assert facts < out.index(fragment) < out.index("verdicts of run 2 against run 1")
    assert "run_seed" not in out  # differs in every run, means nothing


def test_the_threshold_decides_what_counts(capsys, db):
    store(db, builder(read=0.93), "a")
    store(db, builder(), "b")
    store(db, builder(read=0.93), "c")
    assert cli(capsys, "compare", "b", "c", "--db", str(db))[0] == 1  # 7 % slower > 5 %
    code, out, _ = cli(capsys, "compare", "b", "c", "--db", str(db), "--threshold", "10")
    assert code == 0 and "slower" not in out.split("verdicts of")[1].split("artifact checks")[0]
    assert cli(capsys, "compare", "c", "b", "--db", str(db))[0] == 0  # faster is not a regression


def test_json_and_markdown(capsys, db):
    store(db, builder(), "a")
    store(db, builder(read=0.8, fs="xfs"), "b")
    code, out, _ = cli(capsys, "compare", "a", "b", "--db", str(db), "--format", "json")
    assert code == 1
    d = json.loads(out)
    assert d["schema"] == "iocompare-compare" and d["schema_version"] == 1 and d["threshold_pct"] == 5
    assert d["baseline_run"]["name"] == "a" and d["candidate_run"]["name"] == "b"
    assert {"scope": "environment host", "name": "fs_type", "baseline": "ext4", "candidate": "xfs"} in d["differences"]
    assert d["regressions"][0]["key"] == READ.key and d["regressions"][0]["environment"] == "host"
    comparisons = {c["key"]: c for c in d["analysis"]["comparisons"]}
    assert comparisons[READ.key]["verdict"] == "slower" and comparisons[READ.key]["baseline"] == "host (run 1)"
    assert comparisons[READ.key]["ci_high"] < 1
    sides = {(c["key"], c["run"]) for c in d["cells"]}
    assert (READ.key, "baseline") in sides and (READ.key, "candidate") in sides
    assert all(len(c["checks"]) == len(CheckId) - len(NETWORK_CHECKS) for c in d["cells"])
    code, md, _ = cli(capsys, "compare", "a", "b", "--db", str(db), "--format", "markdown")
    assert code == 1 and md.index("## Facts that differ") < md.index("## Verdicts")
    assert "| environment host | fs_type | ext4 | xfs |" in md and "**REGRESSION" in md


def test_a_suspect_candidate_is_not_a_regression_and_says_so(capsys, db):
    store(db, builder(), "disk")
    store(db, builder(read=0.5, fs="tmpfs"), "ram")
    code, out, _ = cli(capsys, "compare", "disk", "ram", "--db", str(db))
    assert code == 0
    assert "suspect: memory filesystem (tmpfs)" in out and "% slower" not in out


def test_bad_input_exits_2(capsys, db):
    store(db, builder(), "a")
    store(db, builder(cells=(make_cell(workload="other"),)), "unrelated")
    code, _, err = cli(capsys, "compare", "a", "nosuchrun", "--db", str(db))
    assert code == 2 and "no run 'nosuchrun'" in err
    code, _, err = cli(capsys, "compare", "a", "unrelated", "--db", str(db))
    assert code == 2 and "no cell in common" in err
    code, _, err = cli(capsys, "compare", "a", "a", "--db", str(db), "--threshold", "-1")
    assert code == 2 and "--threshold -1 is out of range" in err
    code, _, err = cli(capsys, "compare", "a", "a", "--db", str(db.parent / "missing.db"))
    assert code == 2 and "no database at" in err


def test_pure_run_pairing():
    from iocompare.analysis.runs_compare import fact_differences, pair_inputs, pair_runs

    a = builder().build()
    extra = make_cell(workload="only-b")
    bb = builder(read=0.9)
    bb.add_values(extra, "host", [1.0 * MiB] * 5)
    b = bb.build()
    pair = pair_runs(a, b)
    assert pair.keys == (READ.key, WRITE.key) and pair.environments == ("host",)
    inputs = pair_inputs(pair, suspects_b={(READ.key, "host"): ("run problems",)})
    # Both built runs have id 1: the sides are told apart as A and B.
    assert [(i.key, i.baseline, i.candidate) for i in inputs] == [
        (k, "host (A)", "host (B)") for k in (READ.key, WRITE.key)
    ]
    first = inputs[0]
    assert first.suspect_b == ("run problems",) and len(first.a_values) == len(first.b_values) == 5
    diffs = fact_differences(a, b)
    assert any(d.scope == "cells" and d.b == "only-b@4k" and d.a is None for d in diffs)
