"""The cross-over diagnosis (`iocompare diagnose`): the 2x2 decision on synthetic trials, the
design's trial order, which environments can read another's file, and the command's bad input."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from analysis_runs import DISK_FACTS, MiB, RunBuilder
from builders import make_cell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stored_runs import store_run

from iocompare.analysis.crossover import CrossoverDesign, CrossoverValues, Finding, design_of, diagnose, values_of
from iocompare.analysis.stats import log_contrast
from iocompare.cli.main import main
from iocompare.engines.fio_binary import FioBinary
from iocompare.environments.base import RunContext
from iocompare.environments.container.environment import DRY_RUN_TAG, PodmanEnvironment
from iocompare.environments.host import HostEnvironment
from iocompare.environments.shared import SharedWorkingSets
from iocompare.execute.crossover import FileView
from iocompare.report.crossover_text import diagnosis_lines
from iocompare.store import Store
from iocompare.system.resources import RunResources

JITTER = (0.99, 1.01, 1.0, 0.995, 1.005)  # +-1 %: well inside the 5 % noise threshold


def _group(level: float) -> tuple[float, ...]:
    return tuple(level * MiB * j for j in JITTER)


def _values(bb: float, bc: float, cb: float, cc: float) -> CrossoverValues:
    """Throughput levels (MiB/s) of: baseline on its file, baseline on the candidate's file,
    candidate on the baseline's file, candidate on its own file."""
    return CrossoverValues(_group(bb), _group(bc), _group(cb), _group(cc))


def test_the_difference_follows_the_file():
    # Either environment reads the candidate's file 1.5x faster: placement, not the environment.
    d = diagnose(_values(1000, 1500, 1000, 1500))
    assert d.finding is Finding.FILE
    assert d.file is not None and d.file.counts and math.isclose(d.file.ratio, 1.5, rel_tol=1e-6)
    assert d.environment is not None and not d.environment.counts


def test_the_difference_follows_the_environment():
    d = diagnose(_values(1000, 1000, 1500, 1500))
    assert d.finding is Finding.ENVIRONMENT
    assert d.environment is not None and d.environment.counts and math.isclose(d.environment.ratio, 1.5, rel_tol=1e-6)
    assert d.file is not None and not d.file.counts


def test_both_effects():
    d = diagnose(_values(1000, 1300, 1300, 1690))
    assert d.finding is Finding.BOTH
    assert d.environment is not None and math.isclose(d.environment.ratio, 1.3, rel_tol=1e-6)
    assert d.file is not None and math.isclose(d.file.ratio, 1.3, rel_tol=1e-6)
    assert d.interaction is not None and not d.interaction.counts


def test_no_effect_is_inconclusive():
    d = diagnose(_values(1000, 1000, 1000, 1000))
    assert d.finding is Finding.INCONCLUSIVE and "noise" in d.reason
    # An effect below the noise threshold does not count even with a tight CI.
    small = diagnose(_values(1000, 1000, 1030, 1030))
    assert small.finding is Finding.INCONCLUSIVE
    assert small.environment is not None and small.environment.ci is not None
    assert not small.environment.ci.contains(1.0)


def test_too_few_or_missing_trials_are_inconclusive():
    one = CrossoverValues((1.0,), (1.5,), (1.0,), (1.5,))
    d = diagnose(one)
    assert d.finding is Finding.INCONCLUSIVE and d.file is not None and d.file.ci is None
    missing = diagnose(CrossoverValues((1.0, 1.1), (), (1.0, 1.0), (1.5, 1.5)))
    assert missing.finding is Finding.INCONCLUSIVE and missing.environment is None


def test_log_contrast_is_the_ratio_of_geometric_means():
    ratio, ci = log_contrast([(1.0, 4.0), (2.0, 8.0)], (-1.0, 1.0), seed=1)
    assert math.isclose(ratio, 2.0)  # geomean 4 over geomean 2
    assert ci is not None and ci.low <= ratio <= ci.high
    with pytest.raises(ValueError):
        log_contrast([(1.0,)], (1.0, 2.0))


def test_the_lines_say_means_effects_and_verdict():
    d = diagnose(_values(1000, 1500, 1000, 1500))
    lines = diagnosis_lines(d, cell="rand-read@1m", baseline="host", candidate="podman", rounds=5)
    text = "\n".join(lines)
    assert "host on podman's file" in text and "podman on host's file" in text
    assert "file effect" in text and "+50 %" in text and "CI" in text
    assert lines[-1].startswith("verdict: follows the file (placement or a lower cache)")


def test_design_interleaves_ab_ba_with_every_combination_in_every_round():
    cell = make_cell(block_size_bytes=1 << 20)
    design = CrossoverDesign(cell, "host", "podman", rounds=4)
    trials = design.trials(run_seed=7)
    names = [c.name for c in design.conditions()]
    assert names == ["host/host-file", "host/podman-file", "podman/host-file", "podman/podman-file"]
    assert len(trials) == 16 and [t.index for t in trials] == list(range(16))
    rounds = [[t.environment for t in trials if t.round == r] for r in range(4)]
    for order in rounds:
        assert sorted(order) == sorted(names)  # each combination once per round
        kinds = [name.split("/")[0] for name in order]
        assert kinds[0] != kinds[1] != kinds[2] != kinds[3]  # environments alternate within a round
    assert rounds[1] == list(reversed(rounds[0])) and rounds[2] == rounds[0]  # AB, then BA
    assert all(t.seed > 0 for t in trials) and len({t.seed for t in trials}) == 16
    assert design.trials(run_seed=7) == trials


def test_a_stored_diagnosis_run_gives_back_its_design_and_values():
    cell = make_cell(block_size_bytes=1 << 20)
    design = CrossoverDesign(cell, "host", "podman", rounds=2)
    names = [c.name for c in design.conditions()]
    b = RunBuilder({name: (name.split("/")[0], dict(DISK_FACTS)) for name in names})
    for name, level in zip(names, (1000, 1500, 1000, 1500), strict=True):
        b.add_values(cell, name, [level * MiB, level * MiB * 1.01])
    run = dataclasses.replace(
        b.build(), settings={"diagnosis_of": {"baseline": "host", "candidate": "podman", "rounds": 2}}
    )
    assert design_of(run) == design
    values = values_of(run, design)
    assert values.baseline_on_candidate_file == (1500 * MiB, 1500 * MiB * 1.01)
    assert design_of(b.build()) is None  # an ordinary run


def _context(tmp_path: Path) -> RunContext:
    return RunContext(
        target=tmp_path,
        run_tag=DRY_RUN_TAG,
        fio=FioBinary("fio", "fio-3.33"),
        resources=RunResources("t", persist=False),
        working_sets=SharedWorkingSets(enabled=False),
    )


def test_which_environments_can_read_another_file(tmp_path):
    context = _context(tmp_path)
    host = HostEnvironment("host", context)
    assert host.crossover_unreachable() is None
    other = tmp_path / "b" / "working-set-64m.dat"
    host.read_host_file(other)
    assert host.working_set_path(64 << 20) == str(other)
    bind = PodmanEnvironment("podman", context)
    assert bind.crossover_unreachable() is None
    bind.read_host_file(other)
    assert bind.storage_args() == ["-v", f"{other.parent}:/data"]
    assert bind.working_set_path(64 << 20) == "/data/working-set-64m.dat"
    for variant, where in (("tmpfs", "tmpfs"), ("volume", "volume"), ("overlay", "layer")):
        reason = PodmanEnvironment(f"podman:{variant}", context).crossover_unreachable()
        assert reason is not None and where in reason
        with pytest.raises(ValueError):
            PodmanEnvironment(f"podman:{variant}", context).read_host_file(other)


# -- the command's bad input ---------------------------------------------------------------

CELL = make_cell(workload="rand-read", block_size_bytes=1 << 20, iodepth=16)


def _run(db: Path, *, candidates: dict[str, float], name: str = "r") -> int:
    envs = {"host": ("host", dict(DISK_FACTS)), **{c: (c, dict(DISK_FACTS)) for c in candidates}}
    b = RunBuilder(envs)
    b.add_values(CELL, "host", [1000 * MiB * j for j in JITTER])
    for env, factor in candidates.items():
        b.add_values(CELL, env, [1000 * MiB * factor * j for j in JITTER])
    return store_run(db, b, name=name)


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["diagnose", *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("iocompare: error: ") and "Traceback" not in err
    return err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "results.db"
    _run(path, candidates={"podman": 1.5}, name="fired")
    _run(path, candidates={"podman": 1.0}, name="quiet")
    _run(path, candidates={"podman": 1.5, "docker": 1.6}, name="several")
    return path


def test_unknown_run_cell_and_env_are_named(db, capsys):
    assert "'nope'" in _error(capsys, "nope", "rand-read@1m", "--db", str(db))
    err = _error(capsys, "fired", "rand-read@4m", "--db", str(db))
    assert "'rand-read@4m'" in err and "rand-read@1m" in err  # names the value and what there is
    assert "'qemu'" in _error(capsys, "fired", "rand-read@1m", "--env", "qemu", "--db", str(db))
    assert "baseline" in _error(capsys, "fired", "rand-read@1m", "--env", "host", "--db", str(db))


def test_refused_without_a_firing_unless_forced(db, capsys):
    err = _error(capsys, "quiet", "rand-read@1m", "--db", str(db))
    assert "did not fire" in err and "--force" in err
    assert "in podman" in _error(capsys, "quiet", "rand-read@1m", "--env", "podman", "--db", str(db))
    err = _error(capsys, "several", "rand-read@1m", "--db", str(db))
    assert "podman" in err and "docker" in err and "--env" in err
    # --force with two candidates besides the baseline still needs --env.
    assert "--env" in _error(capsys, "several", "rand-read@1m", "--force", "--db", str(db))


def test_missing_database_is_one_line(tmp_path, capsys):
    _error(capsys, "latest", "rand-read@1m", "--db", str(tmp_path / "none.db"))
    assert not (tmp_path / "none.db").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.one_of(st.integers(max_value=1), st.integers(min_value=51)))
def test_rounds_out_of_range(db, capsys, rounds):
    err = _error(capsys, "fired", "rand-read@1m", "--rounds", str(rounds), "--db", str(db))
    assert f"--rounds {rounds}" in err


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@-.", min_size=1, max_size=20))
def test_any_unknown_cell_is_named(db, capsys, label):
    if label == CELL.key or label.startswith("-"):
        return
    assert repr(label) in _error(capsys, "fired", label, "--db", str(db))


def test_a_run_whose_stored_suite_cannot_be_read_is_refused_before_anything_runs(db, capsys, tmp_path):
    assert "stored suite" in _error(capsys, "fired", "rand-read@1m", "--db", str(db))
    with Store.open(db, readonly=True) as store:
        assert not any(info.name.startswith("diagnose-") for info in store.list_runs())


def test_each_view_reads_its_own_file_through_the_one_environment(tmp_path):
    host = HostEnvironment("host", _context(tmp_path))
    a, b = tmp_path / "host-file" / "working-set-64m.dat", tmp_path / "podman-file" / "working-set-64m.dat"
    own, other = FileView("host/host-file", host, a, "host"), FileView("host/podman-file", host, b, "podman")
    assert other.working_set_path(64 << 20) == str(b)
    assert own.working_set_path(64 << 20) == str(a)
    facts = other.working_set_facts(64 << 20)
    assert facts["working_set_file"] == str(b) and facts["crossover_file_of"] == "podman"
    assert host.crossover_file == b
    own.ensure_working_set(64 << 20, timeout_s=1)  # the diagnosis lays the files out: nothing written here
    assert not a.exists() and host.crossover_file == a
