"""QEMU command-line construction, settings from the environment, sizes, and cache layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from iocompare.environments.microvm.environment import GuestConfig, allocate, fs_image_bytes
from iocompare.environments.microvm.guest_init import (
    CONTROL_JOB_OFFSET,
    CONTROL_LABEL,
    CONTROL_RESULT_OFFSET,
    render_init,
)
from iocompare.environments.microvm.qemu import KERNEL_CMDLINE, QemuCommand, decide_accelerator
from iocompare.environments.microvm.session import cpu_delta, create_control_disk, read_result, write_job
from iocompare.errors import UserError

MiB = 1 << 20


def command(**overrides) -> QemuCommand:
    fields = {
        "binary": "qemu-system-x86_64",
        "accelerator": "tcg",
        "memory_mib": 512,
        "vcpus": 2,
        "kernel": Path("/cache/vmlinuz"),
        "initrd": Path("/cache/initramfs.cpio"),
        "target": Path("/var/tmp/iocompare-x/qemu/disk.img"),
        "control": Path("/var/tmp/iocompare-x/qemu/vm-1/control.img"),
        "cache": "none",
        "aio": "io_uring",
        "logical_block_size": 4096,
        "name": "iocompare-x-vm-1",
        "tsc_khz": None,
    }
    fields.update(overrides)
    return QemuCommand(**fields)


def option(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, value in enumerate(argv) if value == flag]


def test_tcg_command_line():
    argv = command().argv()
    assert argv[0] == "qemu-system-x86_64" and option(argv, "-name") == ["iocompare-x-vm-1,debug-threads=on"]
    assert option(argv, "-M") == ["microvm,acpi=on"]
    assert option(argv, "-accel") == ["tcg"] and option(argv, "-cpu") == ["max"]
    assert option(argv, "-m") == ["512"] and option(argv, "-smp") == ["2"]
    assert option(argv, "-append") == [f"{KERNEL_CMDLINE} tsc=reliable"] and "console=ttyS0" in KERNEL_CMDLINE
    assert {"-nodefaults", "-no-user-config", "-no-reboot"} <= set(argv)
    assert option(argv, "-serial") == ["chardev:console"]
    drives = option(argv, "-drive")
    assert drives[0] == (
        "id=target,file=/var/tmp/iocompare-x/qemu/disk.img,format=raw,if=none,cache=none,aio=io_uring,discard=ignore,detect-zeroes=off"
    )
    assert drives[1].startswith("id=control,") and "cache=writethrough" in drives[1]
    devices = option(argv, "-device")
    assert (
        devices[0]
        == "virtio-blk-device,drive=target,serial=iocompare_target,logical_block_size=4096,physical_block_size=4096"
    )
    assert devices[1] == "virtio-blk-device,drive=control,serial=iocompare_control"


def test_kvm_uses_host_cpu_and_drive_options_pass_through():
    argv = command(accelerator="kvm", cache="writeback", aio="threads", logical_block_size=None).argv()
    assert option(argv, "-accel") == ["kvm"] and option(argv, "-cpu") == ["host"]
    assert "cache=writeback,aio=threads" in option(argv, "-drive")[0]
    assert "logical_block_size" not in option(argv, "-device")[0]


def test_virtio_scsi_puts_an_scsi_hd_on_a_virtio_mmio_adapter():
    argv = command(drive_model="virtio-scsi").argv()
    devices = option(argv, "-device")
    assert devices[0] == "virtio-scsi-device,id=scsi0"  # microvm has no PCI: the virtio-mmio adapter
    assert devices[1] == (
        "scsi-hd,bus=scsi0.0,drive=target,serial=iocompare_target,logical_block_size=4096,physical_block_size=4096"
    )
    assert devices[2] == "virtio-blk-device,drive=control,serial=iocompare_control"  # the control disk stays
    assert option(argv, "-drive")[0].startswith("id=target,") and len(devices) == 3


def test_virtio_blk_is_the_default_drive_model():
    assert QemuCommand.__dataclass_fields__["drive_model"].default == "virtio-blk"
    assert option(command().argv(), "-device")[0].startswith("virtio-blk-device,drive=target,")
    with pytest.raises(ValueError, match="virtio-ide"):
        command(drive_model="virtio-ide").argv()


def test_guest_init_finds_scsi_disks_and_names_the_target():
    init = render_init()
    assert "for blk in /sys/block/vd* /sys/block/sd*; do" in init
    assert "say ready kernel=$(uname -r) disk=${target_blk##*/} " in init


def test_commas_in_paths_are_escaped():
    argv = command(target=Path("/mnt/a,b/disk.img")).argv()
    assert "file=/mnt/a,,b/disk.img," in option(argv, "-drive")[0]


def test_guest_config_from_environment(monkeypatch):
    assert GuestConfig.from_environ("QEMU") == GuestConfig(512, 2, 120)
    monkeypatch.setenv("IOCOMPARE_QEMU_MEMORY_MIB", "1024")
    monkeypatch.setenv("IOCOMPARE_QEMU_VCPUS", "4")
    assert GuestConfig.from_environ("QEMU").memory_mib == 1024 and GuestConfig.from_environ("QEMU").vcpus == 4
    monkeypatch.setenv("IOCOMPARE_QEMU_VCPUS", "many")
    with pytest.raises(UserError, match="IOCOMPARE_QEMU_VCPUS='many' is not a whole number"):
        GuestConfig.from_environ("QEMU")
    monkeypatch.setenv("IOCOMPARE_QEMU_VCPUS", "0")
    with pytest.raises(UserError, match="out of range"):
        GuestConfig.from_environ("QEMU")


def test_forced_accelerator_and_bad_value(monkeypatch, tmp_path):
    monkeypatch.setenv("IOCOMPARE_QEMU_ACCEL", "tcg")
    decision = decide_accelerator("qemu-system-x86_64", tmp_path / "k", tmp_path / "i", tmp_path)
    assert decision.accelerator == "tcg" and "IOCOMPARE_QEMU_ACCEL" in decision.reason
    monkeypatch.setenv("IOCOMPARE_QEMU_ACCEL", "hvf")
    with pytest.raises(UserError, match="IOCOMPARE_QEMU_ACCEL='hvf' is not supported"):
        decide_accelerator("qemu-system-x86_64", tmp_path / "k", tmp_path / "i", tmp_path)


def test_fs_image_leaves_room_for_ext4():
    assert fs_image_bytes(32 * MiB) == 32 * MiB + 2 * MiB + 64 * MiB + 32 * MiB
    for size in (32 * MiB, 4 << 30, 64 << 30):
        image = fs_image_bytes(size)
        assert image > size * 1.06 and image % MiB == 0


def test_allocate_preallocates(tmp_path):
    path = tmp_path / "disk.img"
    how = allocate(path, 8 * MiB)
    assert path.stat().st_size == 8 * MiB
    assert how.startswith("preallocated") and path.stat().st_blocks * 512 >= 8 * MiB


def test_control_disk_round_trip(tmp_path):
    import io
    import tarfile

    control = tmp_path / "control.img"
    create_control_disk(control)
    write_job(control, "[job]\nrw=read\n")
    blob = control.read_bytes()
    assert blob.startswith(CONTROL_LABEL.encode())
    with tarfile.open(fileobj=io.BytesIO(blob[CONTROL_JOB_OFFSET:CONTROL_RESULT_OFFSET])) as archive:
        assert archive.extractfile("job.fio").read() == b"[job]\nrw=read\n"
    # what the guest writes back: a tar at the result offset
    result = io.BytesIO()
    with tarfile.open(fileobj=result, mode="w") as archive:
        for name, data in (("out.json", b'{"fio version": "fio-3.33"}'), ("rc", b"0\n"), ("stderr.txt", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with open(control, "r+b") as handle:
        handle.seek(CONTROL_RESULT_OFFSET)
        handle.write(result.getvalue())
    files = read_result(control)
    assert files["rc"].strip() == "0" and files["out.json"].startswith('{"fio version"')


def test_cpu_delta_separates_vcpu_threads():
    before = {1: ("qemu-system-x86", 1.0), 2: ("CPU 0/TCG", 5.0)}
    after = {1: ("qemu-system-x86", 1.5), 2: ("CPU 0/TCG", 7.0), 3: ("CPU 1/TCG", 1.25)}
    facts = cpu_delta(before, after, lambda name: name.startswith("CPU "))
    assert facts == {"vmm_cpu_s": "3.75", "vcpu_cpu_s": "3.25", "vmm_other_cpu_s": "0.50", "vcpu_threads": "2"}


def test_init_script_has_every_command_and_no_placeholders():
    text = render_init()
    assert text.startswith("#!/bin/busybox sh\n") and "__" not in text.replace("__init__", "")
    for command_name in ("drop)", "mkfs)", "mount)", "run)", "off)"):
        assert command_name in text
    assert "lazy_itable_init=0" in text and "drop_caches" in text


def test_tcg_guest_is_told_the_tsc_rate_kvm_is_not():
    from iocompare.environments.microvm.qemu import host_tsc_khz

    assert option(command(tsc_khz=2596124).argv(), "-append") == [
        f"{KERNEL_CMDLINE} tsc=reliable tsc_early_khz=2596124"
    ]
    assert option(command(tsc_khz=None).argv(), "-append") == [f"{KERNEL_CMDLINE} tsc=reliable"]
    assert option(command(accelerator="kvm", tsc_khz=2596124).argv(), "-append") == [KERNEL_CMDLINE]
    cpuinfo = "processor\t: 0\ncpu MHz\t\t: 2596.124\nflags\t\t: fpu tsc constant_tsc nonstop_tsc\n"
    assert host_tsc_khz(cpuinfo) == 2596124
    assert host_tsc_khz(cpuinfo.replace(" constant_tsc", "")) is None
    assert host_tsc_khz("processor\t: 0\n") is None
