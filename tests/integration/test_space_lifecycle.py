"""Issue: disk space never runs out; runs clean up on every exit path and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
from lifecycle_helpers import (
    fio_processes_using,
    interrupt,
    iocompare,
    loop_device,
    loop_ext4,
    start_iocompare,
    stored_trials,
    wait_for,
)

pytestmark = pytest.mark.integration

SUITE = """
name = "space"
runtime_s = {runtime}
ramp_s = 0
repeat = {repeat}
max_repeat = {repeat}
[working_set]
size = "{size}"
min_size = "{floor}"
[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
[[workloads]]
name = "seq-write"
pattern = "seq-write"
block_sizes = ["1m"]
"""


@pytest.fixture
def env(tmp_path, isolated_state):
    environment = dict(os.environ)
    environment["IOCOMPARE_STATE_DIR"] = str(isolated_state)
    environment["IOCOMPARE_DB"] = str(tmp_path / "results.db")
    return environment


def suite_file(tmp_path, *, runtime=1, repeat=1, size="32m", floor="16m"):
    path = tmp_path / "suite.toml"
    path.write_text(SUITE.format(runtime=runtime, repeat=repeat, size=size, floor=floor))
    return str(path)


def report(env):
    return json.loads(iocompare("report", "latest", "--format", "json", env=env).stdout)


def test_tiny_filesystem_refuses_with_reason_and_never_fills(tmp_path, env):
    with loop_ext4(tmp_path, 64) as mount:
        done = iocompare(
            "run", "--suite", suite_file(tmp_path, size="1g", floor="256m"), "--target", str(mount), env=env
        )
        # Nothing could be measured: bad input, one line, and no run is stored.
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "no environment has the space to run: host: not enough space" in lines[0]
        assert not (tmp_path / "results.db").exists()
        assert sorted(os.listdir(mount)) == ["lost+found"]


def test_working_set_shrinks_within_limits_and_the_reserve_holds(tmp_path, env):
    with loop_ext4(tmp_path, 400) as mount:
        dry = iocompare(
            "run",
            "--suite",
            suite_file(tmp_path, size="1g", floor="64m"),
            "--target",
            str(mount),
            "--reserve",
            "32m",
            "--dry-run",
            env=env,
        )
        assert dry.returncode == 0 and "working set shrunk from 1 GiB to 256 MiB" in dry.stdout
        assert not (tmp_path / "results.db").exists()
        done = iocompare(
            "run",
            "--suite",
            suite_file(tmp_path, size="1g", floor="64m"),
            "--target",
            str(mount),
            "--reserve",
            "32m",
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert "working set shrunk from 1 GiB to 256 MiB" in done.stderr
        data = report(env)
        assert {c["working_set_bytes"] for c in data["cells"]} == {256 << 20}
        assert all(c["n"] == 1 for c in data["cells"])
        assert sorted(os.listdir(mount)) == ["lost+found"]
    with sqlite3.connect(env["IOCOMPARE_DB"]) as conn:
        lowest_free = conn.execute("SELECT min(free_bytes) FROM samples").fetchone()[0]
    assert lowest_free >= 32 << 20


def test_filler_mid_run_stops_the_trial_cleanly(tmp_path, env):
    with loop_ext4(tmp_path, 256) as mount:
        process = start_iocompare(
            "run",
            "--suite",
            suite_file(tmp_path, runtime=8, size="64m"),
            "--target",
            str(mount),
            "--reserve",
            "48m",
            env=env,
        )
        scratch_seen = threading.Event()

        def fill_when_running():
            wait_for(
                lambda: fio_processes_using(mount) != [] and any(p.startswith("iocompare-") for p in os.listdir(mount)),
                timeout=60,
            )
            time.sleep(1.0)
            scratch_seen.set()
            free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
            subprocess.run(["fallocate", "-l", str(free - (16 << 20)), str(mount / "filler")], check=True)

        filler = threading.Thread(target=fill_when_running)
        filler.start()
        _out, err = process.communicate(timeout=180)
        filler.join()
        assert scratch_seen.is_set()
        assert process.returncode == 1, err
        assert "below the reserve" in err
        assert sorted(os.listdir(mount)) == ["filler", "lost+found"]
        assert fio_processes_using(mount) == []
        data = report(env)
        reasons = [r for c in data["cells"] for r in c["reasons"]]
        assert any("free space" in r and "below the reserve" in r for r in reasons)
        assert data["run"]["status"] == "failed"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_trial_cleans_up_and_resume_completes(tmp_path, env, sig, code):
    target = tmp_path / "target"
    target.mkdir()
    db = tmp_path / "results.db"
    process = start_iocompare(
        "run", "--suite", suite_file(tmp_path, runtime=2, repeat=2), "--target", str(target), env=env
    )
    wait_for(lambda: stored_trials(db) >= 1 and fio_processes_using(target) != [], timeout=90)
    returncode, _out, err = interrupt(process, sig)
    assert returncode == code, err
    assert "finished trials of run 1 are kept" in err and "--resume 1" in err
    assert os.listdir(target) == []
    assert fio_processes_using(target) == []
    before = stored_trials(db)
    assert 1 <= before < 4
    assert report(env)["run"]["status"] == "interrupted"

    resumed = iocompare("run", "--resume", "1", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{before} of 4 trials already stored" in resumed.stderr
    data = report(env)
    assert data["run"]["status"] == "complete" and data["run"]["trials_total"] == 4
    assert all(c["n"] == 2 for c in data["cells"])
    assert os.listdir(target) == []


def test_sigkill_leftovers_are_removed_by_the_next_start(tmp_path, env):
    target = tmp_path / "target"
    target.mkdir()
    process = start_iocompare("run", "--suite", suite_file(tmp_path, runtime=20), "--target", str(target), env=env)
    wait_for(lambda: fio_processes_using(target) != [], timeout=90)
    process.kill()
    process.communicate()
    assert os.listdir(target) != []  # the scratch directory and a running fio are left behind
    assert fio_processes_using(target) != []

    listing = iocompare("runs", env=env)
    assert listing.returncode == 0
    assert "cleaned up after a killed iocompare run" in listing.stderr
    assert "marked interrupted" in listing.stderr
    wait_for(lambda: fio_processes_using(target) == [], timeout=10)
    assert os.listdir(target) == []


def test_two_runs_on_one_target_refuse_to_overlap(tmp_path, env):
    target = tmp_path / "target"
    target.mkdir()
    first = start_iocompare(
        "run", "--suite", suite_file(tmp_path, runtime=6), "--target", str(target), "--name", "first-run", env=env
    )
    wait_for(lambda: fio_processes_using(target) != [], timeout=90)
    second = iocompare("run", "--suite", suite_file(tmp_path, runtime=1), "--target", str(target), env=env)
    assert second.returncode == 2
    assert "is in use by another iocompare run" in second.stderr and "first-run" in second.stderr
    first.communicate(timeout=120)
    assert first.returncode == 0


def test_block_device_guard(tmp_path, env):
    suite = suite_file(tmp_path, size="32m")
    with loop_device(tmp_path, 64) as device:
        refused = iocompare("run", "--suite", suite, "--target", str(device), env=env)
        assert refused.returncode == 2 and "is a block device" in refused.stderr and "--allow-destroy" in refused.stderr

        blank = iocompare("run", "--suite", suite, "--target", str(device), "--allow-destroy", env=env)
        assert blank.returncode == 0, blank.stderr
        assert f"will overwrite {device}" in blank.stderr
        facts = report(env)["cells"][0]["facts"]
        assert facts["fs_type"].startswith("none") and facts["device"] == device.name

        subprocess.run(["mkfs.ext4", "-q", "-F", str(device)], check=True)
        signed = iocompare("run", "--suite", suite, "--target", str(device), "--allow-destroy", env=env)
        assert signed.returncode == 2 and "ext4 signature" in signed.stderr and "--force" in signed.stderr

        mount = tmp_path / "m"
        mount.mkdir()
        subprocess.run(["mount", str(device), str(mount)], check=True)
        try:
            mounted = iocompare("run", "--suite", suite, "--target", str(device), "--allow-destroy", env=env)
            assert mounted.returncode == 2 and f"it is mounted at {mount}" in mounted.stderr
        finally:
            subprocess.run(["umount", str(mount)], check=True)

        forced = iocompare("run", "--suite", suite, "--target", str(device), "--allow-destroy", "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert "--force given although it carries a ext4 signature" in forced.stderr
