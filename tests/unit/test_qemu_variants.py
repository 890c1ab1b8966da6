"""MicroVM variant names: parsing, canonical spelling, listing, and the errors for bad ones."""

from __future__ import annotations

import os

import pytest

from iocompare.environments import registry
from iocompare.environments.microvm.firecracker import SCHEME as FIRECRACKER
from iocompare.environments.microvm.options import name_for_path
from iocompare.environments.microvm.qemu import SCHEME as QEMU
from iocompare.errors import UserError


def test_default_variant_is_raw_cache_none_io_uring():
    variant = QEMU.parse(None)
    assert not variant.in_guest_fs
    assert variant.get("cache") == "none" and variant.get("aio") == "io_uring"
    assert QEMU.name(variant) is None


@pytest.mark.parametrize(
    ("text", "fs", "cache", "aio", "canonical"),
    [
        ("fs", True, "none", "io_uring", "fs"),
        ("cache=writeback", False, "writeback", "io_uring", "cache=writeback"),
        ("aio=threads,fs", True, "none", "threads", "fs,aio=threads"),
        ("fs,cache=writeback,aio=threads", True, "writeback", "threads", "fs,cache=writeback,aio=threads"),
        ("cache=none,aio=io_uring", False, "none", "io_uring", None),
        ("aio=native", False, "none", "native", "aio=native"),
    ],
)
def test_parse_and_canonical_name(text, fs, cache, aio, canonical):
    variant = QEMU.parse(text)
    assert (variant.in_guest_fs, variant.get("cache"), variant.get("aio")) == (fs, cache, aio)
    assert QEMU.name(variant) == canonical
    assert QEMU.parse(canonical) == variant  # the canonical name round-trips


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("cache=unsafe", "qemu drive option 'cache=unsafe' is not supported: cache must be one of none, writeback"),
        ("aio=posix", "aio must be one of io_uring, native, threads"),
        ("iothread=on", "unsupported option 'iothread=on'"),
        ("fs,fs", "'fs' is given twice"),
        ("cache=none,cache=writeback", "cache is given twice"),
        ("cache=writeback,aio=native", "aio=native needs cache=none"),
        ("drive=ide", "qemu drive option 'drive=ide' is not supported: drive must be one of blk, scsi"),
        ("drive=scsi,drive=blk", "drive is given twice"),
    ],
)
def test_bad_variants_say_what_is_wrong(text, fragment):
    with pytest.raises(UserError) as caught:
        QEMU.parse(text)
    assert fragment in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


@pytest.mark.parametrize(
    ("text", "drive", "canonical"),
    [
        ("drive=scsi", "scsi", "drive=scsi"),
        ("drive=blk", "blk", None),
        ("drive=scsi,fs,aio=threads", "scsi", "fs,aio=threads,drive=scsi"),
    ],
)
def test_drive_model_variants(text, drive, canonical):
    variant = QEMU.parse(text)
    assert variant.get("drive") == drive and QEMU.name(variant) == canonical
    assert QEMU.parse(None).get("drive") == "blk"  # virtio-blk stays the default


def test_firecracker_refuses_scsi_in_one_line():
    with pytest.raises(UserError) as caught:
        FIRECRACKER.parse("drive=scsi")
    assert caught.value.one_line() == (
        "firecracker drive option 'drive=scsi' is not supported: firecracker offers only drive=blk"
    )
    assert FIRECRACKER.name(FIRECRACKER.parse("drive=blk")) is None


def test_listing_covers_every_valid_combination_once():
    names = [name for name, _ in QEMU.listing("QEMU")]
    # 2 targets x (cache=none: 3 aio + cache=writeback: 2 aio, native needs O_DIRECT) x 2 drive models
    assert len(names) == len(set(names)) == 20
    assert names[0] is None and "fs" in names and "fs,cache=writeback,aio=threads" in names
    assert "drive=scsi" in names and "fs,cache=writeback,aio=threads,drive=scsi" in names
    assert "cache=writeback,aio=native" not in names
    fc_names = [name for name, _ in FIRECRACKER.listing("Firecracker")]
    assert len(fc_names) == 8 and fc_names[0] is None and "fs,cache=writeback,io_engine=async" in fc_names


def test_registry_lists_microvms_and_explains_unlisted_names():
    names = {choice.name for choice in registry.all_choices()}
    assert {
        "qemu",
        "qemu:fs",
        "qemu:cache=writeback",
        "qemu:aio=threads",
        "firecracker",
        "firecracker:cache=writeback",
        "qemu:drive=scsi",  # both drive models side by side in one run: distinct labels
    } <= names
    with pytest.raises(UserError) as caught:
        registry.choose("qemu:aio=threads,fs")
    assert "unknown environment 'qemu:aio=threads,fs'" in caught.value.one_line()
    assert "write it as qemu:fs,aio=threads" in caught.value.one_line()
    with pytest.raises(UserError, match=r"cache must be one of unsafe, writeback"):
        registry.choose("firecracker:cache=none")
    with pytest.raises(UserError, match=r"unknown environment 'martian'"):
        registry.choose("martian")


def test_firecracker_is_unavailable_without_its_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("IOCOMPARE_FIRECRACKER_BINARY", raising=False)
    choice = registry.choose("firecracker")
    assert choice.unavailable_reason is not None and "firecracker not found on PATH" in choice.unavailable_reason


def test_qemu_is_unavailable_without_its_binary(monkeypatch):
    monkeypatch.setenv("IOCOMPARE_QEMU_BINARY", "/nonexistent/qemu-system-x86_64")
    reason = registry.choose("qemu:fs").unavailable_reason
    assert reason is not None and "/nonexistent/qemu-system-x86_64 not found" in reason


def test_names_become_safe_path_components():
    assert name_for_path("qemu:fs,cache=writeback") == "qemu-fs-cache-writeback"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("firecracker:drive=scsi", "firecracker offers only drive=blk"),
        ("qemu:drive=nvme", "drive must be one of blk, scsi"),
    ],
)
def test_cli_refuses_a_bad_drive_model_in_one_line_exit_2(env, message, tmp_path, capsys, isolated_db):
    from iocompare.cli.main import main

    assert main(["run", "--env", env, "--target", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing half-written
