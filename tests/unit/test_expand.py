from collections import Counter

from iocompare.spec.expand import expand, expand_cells
from iocompare.spec.load import load_suite


def test_quick_expands_to_three_cells_with_auto_depths():
    cells = expand_cells(load_suite("quick"))
    depths = {cell.key: cell.iodepth for cell in cells}
    assert depths == {"seq-write@1m": 16, "rand-read-qd1@4k": 1, "flush-probe@4k": 1}


def test_standard_and_full_cell_counts():
    assert len(expand_cells(load_suite("standard"))) == 16 * 4 + 1
    assert len(expand_cells(load_suite("full"))) == 16 * 6 + 1


def test_every_environment_runs_every_cell_once_per_round_in_varying_order():
    suite = load_suite("quick", {"environments": ["host", "a", "b"], "repeat": 5})
    plan = expand(suite, run_seed=7)
    counts = Counter((t.round, t.cell.key, t.environment) for t in plan.trials)
    assert len(counts) == 5 * 3 * 3 and set(counts.values()) == {1}
    orders = {
        tuple(t.environment for t in plan.trials if t.round == r and t.cell.key == k)
        for r in range(5)
        for k in {c.key for c in plan.cells}
    }
    assert len(orders) > 1  # interleaved, not always the same order
    assert [t.index for t in plan.trials] == list(range(len(plan.trials)))
    assert len({t.seed for t in plan.trials}) == len(plan.trials)


def test_expansion_is_reproducible_from_the_run_seed():
    suite = load_suite("quick", {"environments": ["host", "x"]})
    assert expand(suite, run_seed=3).trials == expand(suite, run_seed=3).trials
    assert expand(suite, run_seed=3).trials != expand(suite, run_seed=4).trials


def test_fio_seconds_is_ramp_plus_runtime_over_trials():
    plan = expand(load_suite("quick"), run_seed=1)
    assert plan.fio_seconds == 15 * (1 + 2)
