"""Several targets in one run: two filesystems the run makes on loop files (xfs and ext4), the
host and podman on each, every (environment, target) cell stored, verdicts per target, and
nothing the run made left behind (issue 15)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iocompare.cli.main import main
from iocompare.store import Store

pytestmark = pytest.mark.integration

SUITE = """
name = "targets"
runtime_s = 1
ramp_s = 0
settle_s = 0
repeat = 2
max_repeat = 2
references = false
environments = ["host", "podman"]
targets = ["loop:xfs:320m", "loop:ext4:320m"]

[working_set]
size = "64m"
min_size = "16m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
"""
LABELS = {"host@loop:xfs:320m", "podman@loop:xfs:320m", "host@loop:ext4:320m", "podman@loop:ext4:320m"}


def _ours(run_tag_prefix: str = "iocompare-") -> tuple[str, str]:
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    mounts = Path("/proc/self/mountinfo").read_text()
    return (
        "\n".join(line for line in loops.splitlines() if run_tag_prefix in line),
        "\n".join(line for line in mounts.splitlines() if run_tag_prefix in line and ".mnt" in line),
    )


def test_two_made_targets_two_environments(tmp_path, capsys, isolated_db):
    suite = tmp_path / "targets.toml"
    suite.write_text(SUITE)
    before = _ours()
    # The made filesystems hold only the run's files: a 5 % reserve, not the default 1 GiB.
    code = main(["run", "--suite", str(suite), "--reserve", "5%", "--name", "two-targets"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "podman@loop:ext4:320m" in captured.out  # the terminal's matrix names environment and target
    assert _ours() == before  # loop devices and mounts gone
    assert not list(Path("/var/tmp").glob("iocompare-*-target*"))  # files and mount points

    with Store.open(isolated_db, readonly=True) as store:
        run = store.load_run(store.resolve_run("latest"))
    assert set(run.environments) == LABELS
    stored = {(t.trial.cell.key, t.trial.environment) for t in run.trials if t.status.value == "ok"}
    assert stored == {("rand-read@4k", label) for label in LABELS}  # four environment x target cells
    facts = {label: facts for label, (_kind, facts) in run.environments.items()}
    assert facts["host@loop:xfs:320m"]["fs_type"] == "xfs" and facts["host@loop:ext4:320m"]["fs_type"] == "ext4"
    assert facts["podman@loop:xfs:320m"]["target_stacked"].startswith("yes: xfs on loop device")
    assert "mkfs.ext4" in facts["host@loop:ext4:320m"]["target_mkfs"]

    assert main(["report", "latest", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    pairs = {(c["baseline"], c["candidate"]) for c in report["analysis"]["comparisons"]}
    # each environment against the host on its own target
    assert pairs == {
        ("host@loop:xfs:320m", "podman@loop:xfs:320m"),
        ("host@loop:ext4:320m", "podman@loop:ext4:320m"),
    }


def test_baseline_target_compares_each_environment_across_targets(tmp_path, capsys, isolated_db):
    suite = tmp_path / "targets.toml"
    suite.write_text(SUITE)
    code = main(["run", "--suite", str(suite), "--reserve", "5%", "--baseline-target", "loop:xfs:320m"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert main(["report", "latest", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    pairs = {(c["baseline"], c["candidate"]) for c in report["analysis"]["comparisons"]}
    assert pairs == {
        ("host@loop:xfs:320m", "host@loop:ext4:320m"),
        ("podman@loop:xfs:320m", "podman@loop:ext4:320m"),
    }


def test_mkfs_on_a_scratch_device_is_guarded_then_made_and_removed(tmp_path, capsys, isolated_db):
    from lifecycle_helpers import loop_device

    suite = tmp_path / "one.toml"
    suite.write_text(SUITE.replace('environments = ["host", "podman"]', 'environments = ["host"]'))
    with loop_device(tmp_path, 400) as device:
        spec = f"mkfs:btrfs:{device}"
        code = main(["run", "--suite", str(suite), "--target", spec])
        err = capsys.readouterr().err
        assert code == 2 and "--allow-destroy" in err and not isolated_db.exists()  # guarded like a raw device
        code = main(["run", "--suite", str(suite), "--target", spec, "--allow-destroy", "--reserve", "5%"])
        captured = capsys.readouterr()
        assert code == 0, captured.out + captured.err
        with Store.open(isolated_db, readonly=True) as store:
            run = store.load_run(store.resolve_run("latest"))
        facts = run.environments["host"][1]
        assert facts["fs_type"] == "btrfs" and facts["target_stacked"] == "no"
        assert facts["target_mkfs"] == f"mkfs.btrfs -f -q {device}"
        assert str(device) not in Path("/proc/self/mountinfo").read_text() and _ours()[1] == ""
        # made by the run: the next guard sees the filesystem it left, and asks for --force
        code = main(["run", "--suite", str(suite), "--target", spec, "--allow-destroy"])
        assert code == 2 and "--force" in capsys.readouterr().err
