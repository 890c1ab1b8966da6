"""Real QEMU microvm trials (software emulation here: KVM cannot run stock kernels on these
machines, see docs/microvms.md), together with the host in one run, and the lifecycle paths."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import psutil
import pytest
from builders import make_cell

from iocompare.cli.main import main
from iocompare.engines.fio_binary import find_fio
from iocompare.engines.fio_job import render_job
from iocompare.engines.fio_parse import parse_fio_output
from iocompare.environments import registry
from iocompare.environments.base import RunContext
from iocompare.environments.microvm.session import GuestFailure
from iocompare.errors import ToolError
from iocompare.store import Store

pytestmark = pytest.mark.integration


def qemu_processes(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if "qemu-system" in (process.info["name"] or "") and tag in cmdline:
            found.append(process)
    return found


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


SHORT_SUITE = """
name = "microvm"
runtime_s = 1
ramp_s = 0
settle_s = 0       # plumbing; equal idle is tested in test_clock_shared_idle.py
repeat = 1
max_repeat = 1     # no adaptive extra rounds: this tests the plumbing, not the statistics
references = false
environments = {environments}

[working_set]
size = "32m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
{more}"""

SEQ_WRITE = """
[[workloads]]
name = "seq-write"
pattern = "seq-write"
block_sizes = ["1m"]
"""


def short_suite(tmp_path: Path, environments: tuple[str, ...], *, seq_write: bool = True) -> Path:
    path = tmp_path / "microvm.toml"
    listed = "[" + ", ".join(f'"{e}"' for e in environments) + "]"
    path.write_text(SHORT_SUITE.format(environments=listed, more=SEQ_WRITE if seq_write else ""))
    return path


def test_host_qemu_and_qemu_fs_in_one_run(tmp_path, capsys, isolated_db, guest_image):
    target = tmp_path / "target"
    target.mkdir()
    suite = short_suite(tmp_path, ("host", "qemu", "qemu:fs"))
    code, out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target), "--name", "microvm")
    assert code == 0, err + out
    assert os.listdir(target) == []  # disk images, control disks, console logs: all removed
    assert qemu_processes("iocompare-") == []

    code, out, err = run_cli(capsys, "report", "latest", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    environments = {env["name"]: env for env in report["environments"]}
    assert set(environments) == {"host", "qemu", "qemu:fs"}
    for name in ("qemu", "qemu:fs"):
        facts = environments[name]["facts"]
        assert facts["kind"] == "qemu" and facts["vmm"] == "qemu" and facts["machine"] == "microvm,acpi=on"
        assert facts["accelerator"] in ("tcg", "kvm")
        if facts["accelerator"] == "tcg":
            assert facts["timing_caveat"] == "software emulation (TCG): timings do not represent a KVM host"
        assert facts["drive_cache"] == "none" and facts["drive_aio"] == "io_uring"
        assert facts["host_page_cache_in_path"] == "no"
        assert facts["guest_memory_mib"] == "512" and facts["guest_vcpus"] == "2"
        assert facts["fio_version"] == environments["host"]["facts"]["fio_version"]
        assert facts["fio_sha256"] == guest_image.fio_sha256
    assert environments["qemu"]["facts"]["guest_target"] == "raw virtio-blk disk"
    assert environments["qemu:fs"]["facts"]["guest_target"] == "file on ext4 made in the guest"

    cells = {(c["key"], c["environment"]): c for c in report["cells"]}
    assert len(cells) == 6
    for env in ("host", "qemu", "qemu:fs"):
        read, write = cells[("rand-read@4k", env)], cells[("seq-write@1m", env)]
        assert read["n"] == 1 and read["read"]["iops"] > 0, read
        assert write["n"] == 1 and write["write"]["bw_bytes_per_s"] > 0, write

    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("latest"))
        for stored in run.trials:
            if stored.trial.environment == "host":
                continue
            facts = stored.facts
            assert float(facts["boot_to_ready_s"]) > 0
            assert facts["guest_caches_dropped"] == "yes"
            assert (
                "filename=/dev/iocompare/target" in facts["fio_job"]
                or "filename=/mnt/iocompare/working-set-32m.dat" in facts["fio_job"]
            )
            if stored.trial.environment == "qemu:fs":
                assert facts["guest_fs_type"] == "ext4"
            samples = store.samples(stored.id)
            assert any(sample.proc_cpu_pct for sample in samples)  # the QEMU process was monitored


@pytest.fixture
def qemu_env(tmp_path, guest_image):
    target = tmp_path / "target"
    target.mkdir()
    context = RunContext(target=target, run_tag="qemutest", fio=find_fio())
    return registry.create("qemu", context), target


def test_a_trial_by_hand_then_ctrl_c_kills_the_vm_and_removes_its_files(qemu_env):
    env, target = qemu_env
    pid = None
    with pytest.raises(KeyboardInterrupt), env:
        env.ensure_working_set(32 << 20, timeout_s=120)
        assert env.disk.stat().st_size == 32 << 20
        with env.instance() as instance:
            pid = instance.pids_to_monitor()[0]
            assert psutil.pid_exists(pid) and instance.boot_to_ready_s > 0
            assert instance.prepare()["guest_caches_dropped"] == "yes"
            cell = make_cell(runtime_s=1, ramp_s=0, working_set_bytes=32 << 20)
            fio_run = instance.run_fio(render_job(cell, filename=env.working_set_path(32 << 20), seed=7), timeout_s=120)
            assert fio_run.exit_code == 0, fio_run.stderr
            assert parse_fio_output(fio_run.output_json, cell=cell).read.iops > 0
            cpu = instance.after_run_facts()  # host CPU of the VMM during fio, vCPU threads apart
            assert int(cpu["vcpu_threads"]) == 2 and float(cpu["vcpu_cpu_s"]) > 0
            assert float(cpu["vmm_cpu_s"]) >= float(cpu["vcpu_cpu_s"])
            raise KeyboardInterrupt
    assert pid is not None and not psutil.pid_exists(pid)
    assert os.listdir(target) == []


def test_boot_timeout_fails_with_the_console_and_leaves_nothing(qemu_env):
    env, target = qemu_env
    env.config = dataclasses.replace(env.config, boot_timeout_s=1)
    with env:
        env.ensure_working_set(32 << 20, timeout_s=120)
        with pytest.raises(ToolError) as caught, env.instance():
            pass
        message = caught.value.message
        assert "timed out after 1 s while booting" in message and "console" in message
        assert isinstance(caught.value, GuestFailure)  # the whole console log, for the trial record
        assert caught.value.console == "" or caught.value.console.splitlines()[-1] in message
        assert list(Path(env.scratch).iterdir()) == []  # the VM directory is gone
        assert env.disk.name == "working-set-32m.dat" and env.disk.exists()  # the raw disk is the shared file
    assert qemu_processes("iocompare-qemutest") == []
    assert os.listdir(target) == []


def test_a_vmm_that_fails_to_start_reports_its_stderr(qemu_env):
    env, target = qemu_env
    with env:  # no working set laid out: the disk image QEMU is given does not exist
        with pytest.raises(ToolError) as caught, env.instance():
            pass
        assert "qemu exited with code 1 while booting" in caught.value.message
        assert "disk.img': No such file or directory" in caught.value.message
    assert os.listdir(target) == []


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"IOCOMPARE_QEMU_MEMORY_MIB": "64"}, "IOCOMPARE_QEMU_MEMORY_MIB=64 is too little for the guest"),
        ({"IOCOMPARE_QEMU_VCPUS": "lots"}, "IOCOMPARE_QEMU_VCPUS='lots' is not a whole number"),
    ],
)
def test_bad_guest_settings_are_one_line_exit_2(
    tmp_path, capsys, isolated_db, guest_image, monkeypatch, variables, fragment
):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    suite = short_suite(tmp_path, ("host", "qemu"))
    code, _out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(tmp_path))
    errors = [line for line in err.splitlines() if line.startswith("iocompare: error:")]
    assert code == 2 and len(errors) == 1 and fragment in errors[0], err
    assert not isolated_db.exists()


@pytest.mark.parametrize(
    ("variables", "fragment"),
    [
        ({"IOCOMPARE_QEMU_BINARY": "/nonexistent/qemu-system-x86_64"}, "/nonexistent/qemu-system-x86_64 not found"),
        (
            {"IOCOMPARE_GUEST_IMAGE": "/nonexistent/guest"},
            "IOCOMPARE_GUEST_IMAGE=/nonexistent/guest: no such directory",
        ),
        (
            {"IOCOMPARE_CACHE_DIR": "/nonexistent/cache"},
            "no guest image is built (run: iocompare image build --kind guest)",
        ),
    ],
)
def test_missing_qemu_or_image_makes_qemu_unavailable(
    tmp_path, capsys, isolated_db, guest_image, monkeypatch, variables, fragment
):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli(capsys, "run", "--suite", str(short_suite(tmp_path, ("qemu",))), "--target", str(tmp_path))
    assert code == 2 and "environment qemu cannot run here: " in err and fragment in err, err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err + out and not isolated_db.exists()
    code, out, _ = run_cli(capsys, "envs")
    assert code == 0 and "unavailable" in out


def test_host_container_and_microvm_cells_in_one_report(tmp_path, capsys, isolated_db, guest_image, fresh_engines):
    target = tmp_path / "target"
    target.mkdir()
    suite = short_suite(tmp_path, ("host", "podman", "qemu"), seq_write=False)
    code, out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target))
    assert code == 0, err + out
    code, out, err = run_cli(capsys, "report", "latest", "--format", "markdown")
    assert code == 0, err
    for env in ("host", "podman", "qemu"):
        assert f"| rand-read@4k QD32 | {env} | 1/1 |" in out, out
    assert "| accelerator | tcg |" in out or "| accelerator | kvm |" in out
    assert os.listdir(target) == [] and qemu_processes("iocompare-") == []


HOLD_A_VM = """
import sys, time
from pathlib import Path
from iocompare.engines.fio_binary import find_fio
from iocompare.environments import registry
from iocompare.environments.base import RunContext

env = registry.create("qemu", RunContext(target=Path(sys.argv[1]), run_tag="sigkilltest", fio=find_fio()))
env.__enter__()
env.ensure_working_set(32 << 20, timeout_s=120)
instance = env.instance().__enter__()
print(instance.pids_to_monitor()[0], flush=True)
time.sleep(600)
"""


def test_the_vm_dies_with_iocompare_even_by_sigkill(tmp_path, guest_image):
    import signal
    import subprocess
    import sys
    import time

    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_VM, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        line = holder.stdout.readline()
        assert line.strip().isdigit(), "the holder did not boot a VM"
        vm = psutil.Process(int(line))
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        deadline = time.monotonic() + 10
        while vm.is_running() and vm.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not vm.is_running() or vm.status() == psutil.STATUS_ZOMBIE
    finally:
        holder.kill()
        holder.wait()
