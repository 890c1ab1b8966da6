"""Filters on any suite (exit 2 naming a filter that matches nothing), plans and progress at the cap
(durations as a range, "round r of ≤ cap", totals that shrink as cells are decided), what --repeat
does to the cap, and the stopping rule with one trial a side."""

from __future__ import annotations

import fnmatch
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from iocompare.analysis.stopping import Stop, stopping_decision
from iocompare.cli.main import main
from iocompare.cli.progress import Budget, LineObserver
from iocompare.cli.run import repeat_counts
from iocompare.errors import UserError
from iocompare.execute.adaptive import extra_round
from iocompare.model import TrialStatus
from iocompare.report.plan import duration_line, estimate
from iocompare.spec.expand import expand
from iocompare.spec.filters import Filters, apply_filters, parse_filters
from iocompare.spec.load import load_suite

STANDARD = load_suite("standard")
NAMES = [w.name for w in STANDARD.workloads]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([*NAMES, "rand-*", "seq-*", "*-qd1*", "mixed*"]), min_size=1, max_size=3))
def test_workload_globs_keep_exactly_the_matching_workloads(globs):
    kept = apply_filters(STANDARD, Filters(workloads=tuple(globs)))
    assert [w.name for w in kept.workloads] == [n for n in NAMES if any(fnmatch.fnmatchcase(n, g) for g in globs)]


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet="abcxyz-_0123456789", min_size=1, max_size=12))
def test_a_glob_that_matches_nothing_is_bad_input_naming_it(glob):
    if any(fnmatch.fnmatchcase(n, glob) for n in NAMES):
        return
    with pytest.raises(UserError, match=f"--workload '{glob}' matches no workload of suite standard"):
        apply_filters(STANDARD, Filters(workloads=(glob,)))


def test_block_size_and_pattern_filters_combine():
    kept = apply_filters(STANDARD, parse_filters(["rand-*"], ["4k", "1m"], ["rand-read"]))
    sizes = {w.name: kept.block_sizes_of(w) for w in kept.workloads}
    assert sizes and all(s == [4096, 1 << 20] for s in sizes.values())
    assert {w.pattern.value for w in kept.workloads} == {"rand-read"}
    with pytest.raises(UserError, match="--block-size 8 KiB is not a block size of suite standard"):
        apply_filters(STANDARD, parse_filters([], ["8k"], []))
    with pytest.raises(UserError, match="--pattern 'sideways' is not a pattern"):
        parse_filters([], [], ["sideways"])
    with pytest.raises(UserError, match="leave no cell"):
        apply_filters(load_suite("quick"), parse_filters(["seq-*"], [], ["fsync-probe"]))


def test_cli_filter_on_a_built_in_suite_dry_run_and_exit_2(tmp_path, capsys):
    db = str(tmp_path / "r.db")
    assert (
        main(["run", "--suite", "standard", "--workload", "rand-read*", "--block-size", "4k", "--dry-run", "--db", db])
        == 0
    )
    out = capsys.readouterr().out
    assert "rand-read@4k" in out and "seq-write" not in out and "filtered with --workload rand-read*" in out
    assert main(["run", "--workload", "nope", "--dry-run", "--db", db]) == 2
    assert "--workload 'nope' matches no workload of suite quick" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()


def test_repeat_keeps_a_fixed_suite_fixed_and_says_what_it_does_to_an_adaptive_cap():
    assert repeat_counts(load_suite("quick"), 2, None) == {"repeat": 2, "max_repeat": 2}
    assert repeat_counts(STANDARD, 2, None) == {"repeat": 2, "max_repeat": 20}
    assert repeat_counts(STANDARD, 2, 2) == {"repeat": 2, "max_repeat": 2}
    assert repeat_counts(STANDARD, 30, None) == {"repeat": 30, "max_repeat": 30}


def test_plan_gives_the_duration_from_minimum_to_cap():
    suite = load_suite("standard", {"environments": ["host", "podman"]})
    plan = expand(suite, run_seed=1)
    est = estimate(plan)
    assert est.adaptive and est.max_trials == 4 * est.trials  # 5 to 20 rounds
    assert est.max_duration_s > 3.5 * est.duration_s
    line = duration_line(plan)
    assert " to " in line and f"{est.trials} to {est.max_trials} trials" in line
    fixed = expand(load_suite("quick"), run_seed=1)
    assert " to " not in duration_line(fixed) and not estimate(fixed).adaptive


def test_progress_counts_to_the_cap_and_shrinks_as_cells_are_decided():
    suite = load_suite("quick", {"repeat": 2, "max_repeat": 4, "environments": ["host", "x"]})
    plan = expand(suite, run_seed=1)
    budget = Budget(plan)
    assert budget.trials == 3 * 2 * 4 and budget.round_text(1) == "round 2 of ≤ 4"
    one_cell = [plan.cells[0]]
    budget.round_added(extra_round(one_cell, plan.environments, round_index=2, first_index=12, run_seed=1))
    assert budget.trials == 24 - 2 * 2 * 2  # the two decided cells drop their rounds 3 and 4
    assert budget.seconds == sum(t.cell.seconds for t in plan.trials) + 2 * 2 * plan.cells[0].seconds
    out = io.StringIO()
    observer = LineObserver(plan, Console(file=out, width=200))
    for trial in plan.trials[:2]:  # the first cell's round, both environments
        observer.trial_finished(trial, TrialStatus.OK, None, None)
    assert "[trials 2/≤24] seq-write@1m round 1 of ≤ 4" in out.getvalue()
    fixed = Budget(expand(load_suite("quick"), run_seed=1))
    assert fixed.round_text(0) == "round 1 of 5" and fixed.trials_text(3) == "3/15"


def test_stopping_with_one_trial_a_side_asks_for_more_instead_of_failing():
    decision = stopping_decision([100.0], [110.0], min_trials=1, cap=5)
    assert decision.action is Stop.CONTINUE and "too few for a CI" in decision.reason
    at_cap = stopping_decision([100.0], [110.0], min_trials=1, cap=1)
    assert at_cap.action is Stop.CAP
