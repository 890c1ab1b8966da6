"""`--repeat 1` in a comparison runs to the end (real fio, host against host:twin): with a fixed
suite every cell reads "inconclusive: too few trials"; with an adaptive one the stopping rule,
which has no CI from one trial, asks for more rounds instead of failing."""

from __future__ import annotations

import json

import pytest

from iocompare.cli.main import main

pytestmark = pytest.mark.integration


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_repeat_1_comparison_gives_inconclusive_verdicts(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    suite = tiny_suite(repeat=3, environments=("host", "host:twin"))  # fixed: max_repeat = repeat
    code, out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target), "--repeat", "1")
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "1 trial(s) per cell and environment, fixed" in err  # what --repeat did, said at the start
    code, text, err = run_cli(capsys, "report", "latest", "--format", "json")
    assert code == 0, err
    comparisons = json.loads(text)["analysis"]["comparisons"]
    assert len(comparisons) == 2
    assert all(c["verdict"] == "inconclusive" and "too few trials" in c["text"] for c in comparisons)
    assert "2 inconclusive" in out.replace("0 inconclusive", "")  # the answer line of host:twin


def test_repeat_1_in_an_adaptive_suite_adds_rounds_instead_of_failing(tmp_path, capsys, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "adaptive.toml"
    suite.write_text(
        'name = "adaptive"\nruntime_s = 1\nramp_s = 0\nrepeat = 2\nmax_repeat = 3\n'
        'environments = ["host", "host:twin"]\n'
        '[working_set]\nsize = "32m"\n[[workloads]]\nname = "rand-read"\npattern = "rand-read"\nblock_sizes = ["4k"]\n'
    )
    code, out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target), "--repeat", "1")
    assert code == 0, err
    assert "Traceback" not in out + err
    assert "up to the suite's max_repeat 3" in err
    code, text, _ = run_cli(capsys, "report", "latest", "--format", "json")
    cells = json.loads(text)["cells"]
    assert all(2 <= c["n"] <= 3 for c in cells)  # one trial had no CI: the rule asked for more
