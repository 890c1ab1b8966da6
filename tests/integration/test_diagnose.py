"""`iocompare diagnose` with the real fio and podman: a host + podman (bind mount) run, then the
cross-over of its 1 MiB random read (two files, each environment reads both, 3 rounds), stored
as a run of its own; nothing is left behind (containers, files, manifests)."""

from __future__ import annotations

import subprocess

import pytest

from iocompare.analysis.crossover import Finding
from iocompare.cli.main import main
from iocompare.store import Store

pytestmark = pytest.mark.integration

SUITE = """
name = "cross"
runtime_s = 1
ramp_s = 0
repeat = 2
max_repeat = 2
settle_s = 1
references = false
environments = ["host", "podman"]

[working_set]
size = "64m"
min_size = "64m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["1m"]
"""


def _our_containers() -> list[str]:
    names = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in names if name.startswith("iocompare-")]


def test_diagnose_host_against_podman(tmp_path, capsys, isolated_db, isolated_state, fresh_engines):
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "cross.toml"
    suite.write_text(SUITE)
    assert main(["run", "--suite", str(suite), "--target", str(target), "--name", "cross"]) == 0
    capsys.readouterr()

    # Whether faster-than-host fired on this machine's disk is not the test's business: --force.
    code = main(["diagnose", "cross", "rand-read@1m", "--rounds", "3", "--force"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    verdicts = [line for line in captured.out.splitlines() if line.startswith("verdict: ")]
    assert len(verdicts) == 1, captured.out
    assert any(verdicts[0].startswith(f"verdict: {finding.value}") for finding in Finding), verdicts
    for label in ("host on host's file", "host on podman's file", "podman on host's file", "podman on podman's file"):
        assert label in captured.out
    assert "environment effect" in captured.out and "file effect" in captured.out

    with Store.open(isolated_db, readonly=True) as store:
        original = store.load_run(store.resolve_run("cross"))
        run = store.load_run(store.resolve_run("diagnose-cross-rand-read@1m"))
    assert run.settings["diagnosis_of"]["run_id"] == original.info.id
    assert run.settings["diagnosis_of"]["candidate"] == "podman"
    assert run.info.status.value == "complete"
    assert list(run.environments) == ["host/host-file", "host/podman-file", "podman/host-file", "podman/podman-file"]
    assert {kind for kind, _ in run.environments.values()} == {"host", "podman"}
    ok = [t for t in run.trials if t.status.value == "ok"]
    assert len(ok) == 12
    # Two distinct files, each read by both environments; the same settle time before every fio.
    files = {t.trial.environment: t.facts["working_set_file"] for t in ok}
    assert files["host/host-file"] == files["podman/host-file"] != files["host/podman-file"]
    assert files["host/podman-file"] == files["podman/podman-file"]
    assert {t.facts["settle_s"] for t in ok} and all(float(t.facts["idle_gap_s"]) >= 0.99 for t in ok)
    containers = {t.facts.get("container", "") for t in ok if t.trial.environment.startswith("podman/")}
    assert len(containers) == 6 and "" not in containers

    # `report` shows the diagnosis run with its verdict.
    assert main(["report", "diagnose-cross-rand-read@1m"]) == 0
    assert "verdict: " in capsys.readouterr().out

    # Nothing is left: files, containers, the run's manifest.
    assert list(target.iterdir()) == []
    tag = next(iter(containers)).split("-")[1]  # iocompare-<tag>-podman-<n>
    assert [name for name in _our_containers() if f"-{tag}-" in name] == []
    assert list((isolated_state / "runs").glob("*.json")) == []
