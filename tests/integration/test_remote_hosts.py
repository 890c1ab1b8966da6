"""Many hosts through fio's client/server (issue 15): three network namespaces made here, each
running `fio --server` on its own 198.19.x address with its own loop-backed ext4. Sequential
per-host comparison, an --all-at-once cell with per-host and aggregate results, a server killed
mid-run (its trials fail with the reason, the others complete, exit 1), an unreachable server
refused before anything is written; everything removed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from fio_servers import PORT, FioServers
from lifecycle_helpers import iocompare, start_iocompare, stored_trials, wait_for

from iocompare.store import Store

pytestmark = pytest.mark.integration

SUITE = """
name = "fleet"
runtime_s = 1
ramp_s = 0
settle_s = 0
repeat = {repeat}
max_repeat = {repeat}

[working_set]
size = "64m"
min_size = "16m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
iodepth = 8
block_sizes = ["4k"]
"""


@pytest.fixture(scope="module")
def servers():
    made = FioServers.start(3, subnet=210, tag="r")
    try:
        yield made
    finally:
        made.close()
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert all(s.namespace not in names for s in made.servers)


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "IOCOMPARE_DB": str(tmp_path / "db" / "r.db"), "IOCOMPARE_STATE_DIR": str(tmp_path / "st")}


def _suite(tmp_path: Path, repeat: int) -> str:
    path = tmp_path / "fleet.toml"
    path.write_text(SUITE.format(repeat=repeat))
    return str(path)


def _envs(servers: FioServers) -> list[str]:
    return [arg for s in servers.servers for arg in ("--env", s.env)]


def _load(tmp_path: Path):
    with Store.open(tmp_path / "db" / "r.db", readonly=True) as store:
        return store.load_run(store.resolve_run("latest"))


def _files_on_servers(servers: FioServers) -> list[str]:
    return [f"{s.namespace}/{p.name}" for s in servers.servers for p in s.mount.iterdir() if p.name != "lost+found"]


def test_sequential_hosts_are_compared_with_each_other(tmp_path, servers):
    done = iocompare("run", "--suite", _suite(tmp_path, 2), *_envs(servers), env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    run = _load(tmp_path)
    labels = [s.env for s in servers.servers]
    assert list(run.environments) == labels  # no local host added: hosts are compared with each other
    assert {t.trial.environment for t in run.trials if t.status.value == "ok"} == set(labels)
    facts = run.environments[labels[1]][1]
    assert facts["fio_version"].startswith("fio-") and facts["remote_servers"] == f"{servers.servers[1].address}:{PORT}"
    assert facts["remote_host_facts"].startswith("not evaluated: no ssh access")
    report = json.loads(iocompare("report", "latest", "--format", "json", env=_env(tmp_path)).stdout)
    pairs = {(c["baseline"], c["candidate"]) for c in report["analysis"]["comparisons"]}
    assert pairs == {(labels[0], labels[1]), (labels[0], labels[2])}
    assert _files_on_servers(servers) == []  # the working sets were unlinked through fio


def test_all_at_once_reports_per_host_and_aggregate(tmp_path, servers):
    done = iocompare("run", "--suite", _suite(tmp_path, 3), *_envs(servers), "--all-at-once", env=_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on 3 hosts at once: aggregate" in done.stdout
    run = _load(tmp_path)
    (label,) = run.environments
    assert label == "remote:" + "+".join(f"{s.address}:{PORT}" for s in servers.servers)
    report = json.loads(iocompare("report", "latest", "--format", "json", env=_env(tmp_path)).stdout)
    (cell,) = report["all_at_once"]
    assert set(cell["hosts"]) == {f"{s.address}:{PORT}" for s in servers.servers}
    assert cell["aggregate"]["n"] == 3 and cell["aggregate"]["mean_ci"] is not None
    shares = sum(h["mean_bw_bytes_per_s"] for h in cell["hosts"].values())
    assert shares == pytest.approx(cell["aggregate"]["mean_bw_bytes_per_s"], rel=0.02)  # the shares add up
    assert _files_on_servers(servers) == []


def test_unreachable_server_is_refused_before_anything_is_written(tmp_path, servers):
    # A namespace of ours, a port nobody listens on: refused, local, no traffic leaves the machine.
    absent = f"remote:{servers.servers[0].address}:{PORT + 1}"
    done = iocompare("run", "--suite", _suite(tmp_path, 1), "--env", absent, env=_env(tmp_path))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"fio --server=ip:{servers.servers[0].address},{PORT + 1}" in done.stderr
    assert not (tmp_path / "db").exists()
    skipped = iocompare(
        "run", "--suite", _suite(tmp_path, 1), "--env", absent, "--env", servers.servers[0].env,
        "--skip-unavailable", env=_env(tmp_path),
    )  # fmt: skip
    assert skipped.returncode == 0 and f"skipping environment {absent}" in skipped.stderr


def test_a_server_killed_mid_run_fails_its_trials_only(tmp_path):
    victims = FioServers.start(3, subnet=215, tag="k")
    try:
        db = tmp_path / "db" / "r.db"
        process = start_iocompare(
            "run", "--suite", _suite(tmp_path, 6), *_envs(victims), env=_env(tmp_path)
        )  # fmt: skip
        wait_for(lambda: stored_trials(db) >= 4, timeout=120)
        victims.servers[1].kill()
        out, err = process.communicate(timeout=300)
        assert process.returncode == 1, out + err
        run = _load(tmp_path)
        killed, others = victims.servers[1].env, {victims.servers[0].env, victims.servers[2].env}
        statuses = {env: [t.status.value for t in run.trials if t.trial.environment == env] for env in run.environments}
        assert all(s == ["ok"] * 6 for env, s in statuses.items() if env in others)
        failed = [t for t in run.trials if t.trial.environment == killed and t.status.value == "failed"]
        assert failed and all(t.reason for t in failed)
        assert any("connect" in (t.reason or "").lower() or "fio" in (t.reason or "") for t in failed)
    finally:
        victims.close()
