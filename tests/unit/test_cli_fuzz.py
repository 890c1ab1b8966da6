"""Issue 13's fuzzer, bounded for CI: generated bad (and good) input to `run --dry-run`, `report`,
`compare`, `export`, `import` and `runs` keeps every promise of the error boundary. The same
generator runs far longer in benchmarks/fuzz_cli.py."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from cli_fuzz import DB, Case, dry_runs, imports, problems, reads
from hypothesis import HealthCheck, given, settings

from iocompare.cli import main as cli_main
from iocompare.environments import registry

# A fixed number of examples per test; the deadline is a hang guard, not a timing assertion (an
# example takes a fraction of a second; one that takes a minute is stuck, e.g. reading a FIFO).
EXAMPLES = 100
BOUNDED = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=60), suppress_health_check=[HealthCheck.too_slow])


def setup_module() -> None:
    registry.all_choices()  # the environment probes run once, not inside the first example's deadline


@BOUNDED
@given(dry_runs())
def test_fuzz_run_dry_run(case: Case) -> None:
    assert problems(case) == []


@BOUNDED
@given(reads())
def test_fuzz_report_compare_export_runs(case: Case) -> None:
    assert problems(case) == []


@BOUNDED
@given(imports())
def test_fuzz_import(case: Case) -> None:
    assert problems(case) == []


def _two_lines(argv: list[str]) -> int:
    print("iocompare: first line\niocompare: error: second line", file=sys.stderr)
    return 2


def _traceback(argv: list[str]) -> int:
    raise RuntimeError("boom")


def _exit_3(argv: list[str]) -> int:
    return 3


def _writes_the_db(argv: list[str]) -> int:
    with open(argv[argv.index("--db") + 1], "ab") as db:
        db.write(b"x")
    print("iocompare: error: --db is bad", file=sys.stderr)
    return 2


@pytest.mark.parametrize(
    ("fake", "expected"),
    [
        (_two_lines, "exit 2 with 2 lines on stderr"),
        (_traceback, "RuntimeError escaped main()"),
        (_exit_3, "exit code 3"),
        (_writes_the_db, "report (exit 2) changed the database"),
    ],
)
def test_the_judge_sees_each_broken_promise(monkeypatch, fake, expected):
    monkeypatch.setattr(cli_main, "main", fake)
    found = problems(Case(("report", "latest", "--db", DB)))
    assert any(expected in problem for problem in found), found
