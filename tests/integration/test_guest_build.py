"""The guest image from the real Debian cloud kernel: ELF vmlinux, initramfs contents, caching."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from iocompare.cli.main import main
from iocompare.environments.microvm.image import GuestBuilder, find_image
from iocompare.environments.microvm.initramfs import read_newc, shared_libraries
from iocompare.environments.microvm.kernel import kernel_version

pytestmark = pytest.mark.integration


def test_vmlinux_extracted_from_the_debian_kernel_is_an_x86_64_elf(guest_image):
    with open(guest_image.vmlinux, "rb") as handle:
        header = handle.read(64)
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2 and int.from_bytes(header[18:20], "little") == 0x3E  # 64-bit, x86-64
    assert guest_image.vmlinux.stat().st_size > 3 * guest_image.vmlinuz.stat().st_size  # uncompressed
    assert kernel_version(guest_image.vmlinuz.read_bytes()) == guest_image.kernel_version
    assert guest_image.manifest["kernel_source"].startswith("debian linux-image-")


def test_initramfs_carries_the_hosts_fio_its_libraries_and_the_modules(guest_image):
    entries = read_newc(guest_image.initramfs.read_bytes())
    fio = Path(shutil.which("fio")).resolve()
    assert entries["bin/fio"][1] == fio.read_bytes()
    for library in shared_libraries(fio):
        assert str(library).lstrip("/") in entries, library
    assert entries["init"][1].startswith(b"#!/bin/busybox sh")
    assert "bin/busybox" in entries and "sbin/mke2fs" in entries
    order = entries["etc/iocompare/modules"][1].decode().split()
    assert order == [
        "virtio_ring.ko",
        "virtio.ko",
        "virtio_mmio.ko",
        "virtio_blk.ko",
        "scsi_common.ko",
        "scsi_mod.ko",
        "virtio_scsi.ko",
        "sd_mod.ko",
    ]
    for module in order:
        assert entries[f"lib/modules/{module}"][1][:4] == b"\x7fELF"


def test_warm_build_does_not_rebuild(guest_image, capsys):
    before = {path.name: path.stat().st_mtime_ns for path in guest_image.directory.iterdir()}
    lines: list[str] = []
    started = time.monotonic()
    info = GuestBuilder().build(progress=lines.append)
    assert info.content_hash == guest_image.content_hash
    assert any("up to date" in line for line in lines) and not any("assembling" in line for line in lines)
    assert {path.name: path.stat().st_mtime_ns for path in guest_image.directory.iterdir()} == before
    assert time.monotonic() - started < 30  # hashing inputs only (generous: a loaded machine)
    assert main(["image", "list", "--kind", "guest"]) == 0
    assert info.name in capsys.readouterr().out


def test_cold_build_from_a_named_kernel_package_then_warm(guest_image, tmp_path, monkeypatch):
    debs = sorted((guest_image.directory.parent.parent / "downloads").glob("linux-image-*.deb"))
    assert debs, "the session build fetched the Debian kernel package"
    monkeypatch.setenv("IOCOMPARE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IOCOMPARE_GUEST_KERNEL", str(debs[-1]))
    cold: list[str] = []
    info = GuestBuilder().build(progress=cold.append)
    assert any("assembling" in line for line in cold)
    warm: list[str] = []
    again = GuestBuilder().build(progress=warm.append)
    assert again.content_hash == info.content_hash and any("up to date" in line for line in warm)
    assert find_image().content_hash == info.content_hash
    assert GuestBuilder().remove() == [info.name] and find_image() is None


def test_missing_named_kernel_is_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IOCOMPARE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IOCOMPARE_GUEST_KERNEL", str(tmp_path / "no-such-kernel"))
    code = main(["image", "build", "--kind", "guest"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "IOCOMPARE_GUEST_KERNEL=" in err[0] and "no such file" in err[0]
