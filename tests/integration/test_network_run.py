"""Network runs with the real iperf3 and sockperf: loopback and a veth namespace measured and
stored, every interface and namespace the run made gone afterwards, and gone after a SIGKILL
of the run at the next start (the manifest's leftover recovery)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from lifecycle_helpers import iocompare, start_iocompare, wait_for

pytestmark = pytest.mark.integration

SUITE = """
name = "net-tiny"
runtime_s = 1
ramp_s = 1
repeat = {repeat}
max_repeat = {repeat}
settle_s = 0
message_sizes = ["4k", "64k", "2m"]
environments = {environments}
[[workloads]]
name = "tcp"
pattern = "tcp-stream"
direction = "both"
[[workloads]]
name = "rr"
pattern = "tcp-rr"
message_sizes = ["512"]
"""


def network_state() -> tuple[set[str], set[str]]:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in links.splitlines()}
    spaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    # Only this project's names (`ioc-<run>`): other runs on the machine may come and go meanwhile.
    namespaces = {line.split()[0] for line in spaces.splitlines() if line}
    return {n for n in names if n.startswith("ioc-")}, {n for n in namespaces if n.startswith("ioc-")}


def write_suite(tmp_path: Path, repeat: int, environments: list[str]) -> Path:
    path = tmp_path / "net.toml"
    path.write_text(SUITE.format(repeat=repeat, environments=str(environments).replace("'", '"')))
    return path


def test_loopback_and_netns_are_measured_and_leave_nothing(tmp_path: Path) -> None:
    links_before, spaces_before = network_state()
    db = tmp_path / "r.db"
    suite = write_suite(tmp_path, 1, ["loopback", "netns"])
    done = iocompare("run", "--suite", str(suite), "--db", str(db), env=dict(os.environ), timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert network_state() == (links_before, spaces_before)
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT t.environment, c.key, t.status, t.reason, d.bw_bps, d.lat_p99_ns, t.facts_json "
            "FROM trials t JOIN cells c ON c.id = t.cell_id "
            "LEFT JOIN fio_result_directions d ON d.trial_id = t.id"
        ).fetchall()
        raw_kinds = {r[0] for r in conn.execute("SELECT kind FROM raw_outputs")}
    by_key = {(env, key): (status, reason, bw, p99, facts) for env, key, status, reason, bw, p99, facts in rows}
    for env in ("loopback", "netns"):
        for key in ("tcp.to-env@4k", "tcp.from-env@64k", "rr@512"):
            status, reason, bw, _p99, _facts = by_key[(env, key)]
            assert status == "ok", reason
            assert bw > 0
        assert by_key[(env, "rr@512")][3] > 0  # the round trip's p99
        status, reason, *_ = by_key[(env, "tcp.to-env@2m")]
        assert status == "not-applicable" and "at most 1048576 B" in reason
    assert "veth" in by_key[("netns", "tcp.to-env@4k")][4]
    assert "fio-json" in raw_kinds  # the raw iperf3 JSON and sockperf text, compressed as fio's is
    report = iocompare("report", "--db", str(db), "--format", "json", env=dict(os.environ))
    assert report.returncode == 0, report.stderr


def test_bad_message_size_is_one_line_and_exit_2(tmp_path: Path) -> None:
    suite = tmp_path / "bad.toml"
    suite.write_text(SUITE.format(repeat=1, environments='["loopback"]').replace('"512"', '"1000"'))
    done = iocompare("run", "--suite", str(suite), "--db", str(tmp_path / "r.db"), env=dict(os.environ))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "message size 1000 B" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.db").exists()


def test_sigkill_leftovers_are_removed_at_the_next_start(tmp_path: Path) -> None:
    links_before, spaces_before = network_state()
    db = tmp_path / "r.db"
    suite = write_suite(tmp_path, 3, ["netns"])
    process = start_iocompare("run", "--suite", str(suite), "--db", str(db), env=dict(os.environ))
    try:
        wait_for(lambda: network_state()[1] - spaces_before, timeout=60)
        created = network_state()
        assert created[0] - links_before  # the host end of the veth
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    assert network_state()[1] - spaces_before  # SIGKILL ran no cleanup code
    # The next start of any command removes what the killed run's manifest lists.
    done = subprocess.run(
        [sys.executable, "-m", "iocompare", "runs", "--db", str(db)], capture_output=True, text=True, timeout=120
    )
    assert "cleaned up after a killed iocompare run" in done.stderr
    assert network_state() == (links_before, spaces_before)


def podman_networks() -> set[str]:
    done = subprocess.run(["podman", "network", "ls", "-q"], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def podman_containers() -> set[str]:
    done = subprocess.run(
        ["podman", "ps", "-aq", "--filter", "name=-net-server-"], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_podman_bridge_and_host_network_are_measured_and_leave_nothing(tmp_path: Path) -> None:
    before = (network_state(), podman_networks(), podman_containers())
    db = tmp_path / "r.db"
    suite = write_suite(tmp_path, 1, ["podman", "podman:host"])
    done = iocompare("run", "--suite", str(suite), "--db", str(db), env=dict(os.environ), timeout=600)
    assert done.returncode == 0, done.stderr + done.stdout
    assert (network_state(), podman_networks(), podman_containers()) == before
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT t.environment, c.key, t.status, t.facts_json FROM trials t JOIN cells c ON c.id = t.cell_id"
        ).fetchall()
    facts = {(env, key): json.loads(f) for env, key, _status, f in rows}
    assert {(env, key) for env, key, status, _f in rows if status == "ok"} >= {
        (env, key) for env in ("podman-net", "podman-net:host") for key in ("tcp.to-env@64k", "rr@512")
    }
    bridge = facts[("podman-net", "tcp.to-env@64k")]
    assert bridge["network_address"].startswith("198.18.")  # never podman's default 10.88.0.0/16
    assert bridge["iperf3_version_inside"] == bridge["iperf3_version"]
    assert bridge["sockperf_version_inside"] == bridge["sockperf_version"]


def test_sigkill_of_a_podman_network_run_is_cleaned_up_at_the_next_start(tmp_path: Path) -> None:
    before = (network_state(), podman_networks())
    db = tmp_path / "r.db"
    suite = write_suite(tmp_path, 3, ["podman"])
    process = start_iocompare("run", "--suite", str(suite), "--db", str(db), env=dict(os.environ))
    try:
        wait_for(lambda: podman_networks() - before[1], timeout=300)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
    assert podman_networks() - before[1]
    done = subprocess.run(
        [sys.executable, "-m", "iocompare", "runs", "--db", str(db)], capture_output=True, text=True, timeout=300
    )
    assert "cleaned up after a killed iocompare run" in done.stderr
    assert (network_state(), podman_networks()) == before
    assert not podman_containers()
