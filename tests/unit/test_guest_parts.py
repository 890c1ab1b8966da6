"""Guest image parts that need no download: cpio writer, module order, vmlinux extraction."""

from __future__ import annotations

import os
import stat
import struct

import lz4.block
import pytest

from iocompare.environments.microvm.initramfs import Archive, module_depends, module_load_order, read_newc, write_newc
from iocompare.environments.microvm.kernel import LZ4_LEGACY_MAGIC, extract_vmlinux, kernel_version
from iocompare.errors import UserError


def test_newc_archive_round_trip_and_is_deterministic(tmp_path):
    source = tmp_path / "fio"
    source.write_bytes(b"\x7fELF" + os.urandom(1001))
    archive = Archive()
    archive.add_file("bin/fio", source)
    archive.add_file("init", b"#!/bin/busybox sh\n")
    archive.add_symlink("bin/sh", "busybox")
    archive.add_dir("mnt/iocompare")
    first, second = tmp_path / "a.cpio", tmp_path / "b.cpio"
    size = write_newc(archive, first)
    write_newc(archive, second)
    assert size % 512 == 0 and first.read_bytes() == second.read_bytes()
    entries = read_newc(first.read_bytes())
    assert entries["bin/fio"][1] == source.read_bytes()
    assert stat.S_ISREG(entries["init"][0]) and entries["init"][0] & 0o111
    assert stat.S_ISLNK(entries["bin/sh"][0]) and entries["bin/sh"][1] == b"busybox"
    assert stat.S_ISDIR(entries["mnt"][0]) and stat.S_ISDIR(entries["mnt/iocompare"][0])
    names = list(entries)
    assert names.index("bin") < names.index("bin/fio")  # parents come first


def modinfo(depends: str) -> bytes:
    return b"\0ELF junk\0license=GPL\0depends=" + depends.encode() + b"\0retpoline=Y\0"


def test_module_dependencies_load_first(tmp_path):
    blobs = {
        "virtio_ring": "",
        "virtio": "virtio_ring",
        "virtio_mmio": "virtio,virtio_ring",
        "virtio_blk": "virtio,virtio_ring",
    }
    index = {}
    for name, depends in blobs.items():
        path = tmp_path / f"{name}.ko"
        path.write_bytes(modinfo(depends))
        index[name] = path
    assert module_depends(modinfo("virtio,virtio_ring")) == ["virtio", "virtio_ring"]
    order = module_load_order(("virtio_mmio", "virtio_blk", "ext4"), index, builtin={"ext4"})
    assert order == ["virtio_ring", "virtio", "virtio_mmio", "virtio_blk"]
    assert (
        module_load_order(("virtio_blk", "crc32c_generic"), index, builtin=set(), optional={"crc32c_generic"})[-1]
        == "virtio_blk"
    )
    with pytest.raises(UserError, match="no module ext4"):
        module_load_order(("ext4",), index, builtin=set())


def fake_bzimage(payload: bytes) -> bytes:
    """setup header with a version string, some bytes, an LZ4 legacy frame, its size, a tail."""
    header = bytearray(0x400)
    header[0x202:0x206] = b"HdrS"
    header[0x20E:0x210] = struct.pack("<H", 0x300 - 0x200)
    header[0x300:0x320] = b"6.1.0-99-test (builder@x) #1\0"
    frame = bytearray(LZ4_LEGACY_MAGIC)
    for start in range(0, len(payload), 8 << 20):
        block = lz4.block.compress(payload[start : start + (8 << 20)], store_size=False)
        frame += struct.pack("<I", len(block)) + block
    return bytes(header) + b"\x02\x21" + frame + struct.pack("<I", len(payload)) + os.urandom(4096)


def test_vmlinux_extraction_from_a_multi_block_lz4_frame():
    payload = b"\x7fELF\x02\x01\x01" + os.urandom(3 << 20) + b"\0" * (6 << 20) + os.urandom(1000)
    blob = fake_bzimage(payload)
    assert extract_vmlinux(blob) == payload
    assert kernel_version(blob) == "6.1.0-99-test"


def test_no_elf_inside_is_a_clear_error():
    with pytest.raises(UserError, match="no ELF vmlinux"):
        extract_vmlinux(fake_bzimage(b"not an elf" * 1000))
