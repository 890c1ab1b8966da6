from builders import make_cell

from iocompare.analysis.baseline import default_baseline
from iocompare.analysis.stopping import Stop
from iocompare.execute.adaptive import decide, extra_round
from iocompare.spec.load import validate_suite
from iocompare.spec.references import with_references


def suite(**fields):
    data = {"name": "s", "workloads": [{"name": "w", "pattern": "seq-read", "block_sizes": ["1m"]}], **fields}
    return validate_suite(data, "test")


def test_comparison_with_a_container_gets_host_and_reference_cells():
    extended, notes = with_references(suite(environments=["podman"]))
    assert extended.environments == ["host", "podman"]
    names = {w.name for w in extended.workloads}
    assert {"ref-read-qd1", "ref-flush-probe"} <= names
    assert len(notes) == 3


def test_host_only_and_a_a_runs_need_no_references():
    for environments in (["host"], ["host", "host:twin"]):
        extended, notes = with_references(suite(environments=environments))
        assert notes == [] and extended.environments == environments


def test_existing_reference_cells_are_not_duplicated():
    base = suite(
        environments=["host", "qemu"],
        workloads=[
            {"name": "qd1", "pattern": "rand-read", "block_sizes": ["4k"], "iodepth": 1},
            {"name": "probe", "pattern": "fsync-probe", "block_sizes": ["4k"], "iodepth": 1},
        ],
    )
    extended, notes = with_references(base)
    assert extended == base and notes == []


def test_references_can_be_switched_off():
    extended, notes = with_references(suite(environments=["podman"], references=False))
    assert extended.environments == ["podman"] and notes == []


def test_decide_continues_on_noise_and_stops_when_clear():
    s = suite(repeat=3, max_repeat=10, environments=["host", "host:twin"], stop_futile=False)
    cells = [make_cell(workload="clear"), make_cell(workload="noisy")]
    values = {
        ("clear@4k", "host"): [100.0, 100.1, 99.9],
        ("clear@4k", "host:twin"): [100.0, 100.05, 99.95],
        ("noisy@4k", "host"): [60.0, 140.0, 100.0],
        ("noisy@4k", "host:twin"): [100.0, 50.0, 150.0],
    }
    decisions = {d.cell.workload: d.decision.action for d in decide(s, cells, ["host", "host:twin"], values)}
    assert decisions == {"clear": Stop.DECIDED, "noisy": Stop.CONTINUE}


def test_decide_stops_a_cell_the_cap_cannot_decide_after_the_pilot():
    s = suite(repeat=3, max_repeat=10, environments=["host", "host:twin"])
    cells = [make_cell(workload="noisy"), make_cell(workload="open")]
    values = {
        ("noisy@4k", "host"): [60.0, 140.0, 100.0],
        ("noisy@4k", "host:twin"): [100.0, 50.0, 150.0],
        ("open@4k", "host"): [100.0, 104.0, 96.0],
        ("open@4k", "host:twin"): [101.0, 97.0, 103.0],
    }
    decisions = {d.cell.workload: d.decision for d in decide(s, cells, ["host", "host:twin"], values)}
    assert decisions["noisy"].action is Stop.FUTILE and "beyond the cap of 10" in decisions["noisy"].reason
    assert decisions["open"].action is Stop.CONTINUE


def test_decide_stops_at_the_cap_and_for_unmeasurable_cells():
    s = suite(repeat=2, max_repeat=3, environments=["host", "host:twin"])
    cell = make_cell(workload="noisy")
    noisy = {("noisy@4k", "host"): [60.0, 140.0, 100.0], ("noisy@4k", "host:twin"): [100.0, 50.0, 150.0]}
    (decision,) = decide(s, [cell], ["host", "host:twin"], noisy)
    assert decision.decision.action is Stop.UNSTABLE
    (decision,) = decide(s, [cell], ["host", "host:twin"], {})
    assert decision.decision.action is Stop.DECIDED and "no successful trials" in decision.decision.reason


def test_extra_rounds_are_deterministic_and_cover_every_environment():
    cells = [make_cell(workload="a"), make_cell(workload="b")]
    one = extra_round(cells, ["host", "x", "y"], round_index=5, first_index=30, run_seed=9)
    two = extra_round(cells, ["host", "x", "y"], round_index=5, first_index=30, run_seed=9)
    assert one == two
    assert [t.index for t in one] == list(range(30, 36)) and {t.round for t in one} == {5}
    assert sorted((t.cell.workload, t.environment) for t in one) == sorted(
        (c, e) for c in "ab" for e in ("host", "x", "y")
    )
    assert default_baseline(["podman", "host"]) == "host" and default_baseline(["a", "b"]) == "a"


def test_stopping_rule_and_reports_compare_against_the_same_baseline():
    """podman listed before host:twin: both the adaptive rounds and the reports pick host:twin."""
    from analysis_runs import RunBuilder

    from iocompare.analysis.compare import run_baseline

    environments = ["podman", "host:twin"]
    run = RunBuilder({"podman": ("podman", {}), "host:twin": ("host", {})}).build()
    assert default_baseline(environments) == run_baseline(run) == "host:twin"
    cell = make_cell()
    # host:twin has no trials yet: the rule must not fall back to comparing against podman
    decisions = decide(suite(), [cell], environments, {(cell.key, "podman"): [1.0] * 5})
    assert decisions[0].decision.action is Stop.DECIDED and "no successful trials" in decisions[0].decision.reason
