"""SIGINT and SIGTERM to a real `iocompare run` in the middle of a container or microVM trial:
the exit code, nothing left behind (containers, VMs, files), finished trials kept, and --resume
completes the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from lifecycle_helpers import interrupt, iocompare, start_iocompare, stored_trials, wait_for

pytestmark = pytest.mark.integration

SUITE = """
name = "signals"
runtime_s = 3
ramp_s = 0
repeat = 2
max_repeat = 2
references = false
environments = ["{env}"]
[working_set]
size = "32m"
[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
"""


def podman_leftovers() -> list[str]:
    names = []
    for args in (["ps", "-a", "--format", "{{.Names}}"], ["volume", "ls", "--format", "{{.Name}}"]):
        out = subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout
        names += [n for n in out.split() if n.startswith("iocompare-")]
    return names


def qemu_processes() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "qemu-system-x86_64"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize(
    ("environment", "sig", "code"), [("podman", signal.SIGINT, 130), ("qemu", signal.SIGTERM, 143)]
)
def test_signal_mid_trial_in_containers_and_microvms(tmp_path, isolated_state, guest_image, environment, sig, code):
    assert not podman_leftovers() and not qemu_processes()
    env = dict(os.environ, IOCOMPARE_STATE_DIR=str(isolated_state), IOCOMPARE_DB=str(tmp_path / "results.db"))
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(env=environment))
    process = start_iocompare("run", "--suite", str(suite), "--target", str(target), env=env)
    wait_for(lambda: stored_trials(tmp_path / "results.db") >= 1, timeout=240)
    time.sleep(1.0)  # inside the second trial: a container is running fio, or a VM is booted
    returncode, _out, err = interrupt(process, sig)
    assert returncode == code, err
    assert "finished trials of run 1 are kept" in err
    assert os.listdir(target) == []
    assert podman_leftovers() == [] and qemu_processes() == []

    resumed = iocompare("run", "--resume", "1", env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(iocompare("report", "latest", "--format", "json", env=env).stdout)
    assert data["run"]["status"] == "complete" and data["cells"][0]["n"] == 2
    assert os.listdir(target) == [] and podman_leftovers() == [] and qemu_processes() == []
