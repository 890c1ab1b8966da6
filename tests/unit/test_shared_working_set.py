"""One working-set file per storage path (environments/shared.py), its extents (filefrag), and the
space plan that counts it once."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.engines.fio_binary import FioBinary
from iocompare.environments.base import RunContext
from iocompare.environments.extents import describe_extents, file_extents, parse_filefrag, working_set_facts
from iocompare.environments.host import HostEnvironment
from iocompare.environments.shared import SharedWorkingSets
from iocompare.execute.space import Reserve, plan_space
from iocompare.system.resources import RunResources

FILEFRAG = """Filesystem type is: ef53
File size of /var/tmp/w.dat is 1073741824 (262144 blocks of 4096 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:        0..  131071:   34816..  165887: 131072:
   1:   131072..  262143:  296960..  428031: 131072:     165888: last,eof
/var/tmp/w.dat: 2 extents found
"""


def test_filefrag_output_is_parsed_and_described():
    parsed = parse_filefrag(FILEFRAG)
    assert parsed == (4096, [(0, 34816, 131072), (131072, 296960, 131072)])
    text = describe_extents(*parsed)
    assert text.startswith("2 extents of 4096 B blocks (sha256 ") and text.endswith(
        "0+131072@34816, 131072+131072@296960"
    )
    assert parse_filefrag("nothing here") is None


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=300))
def test_filefrag_parser_never_raises(text):
    parsed = parse_filefrag(text)
    assert parsed is None or (parsed[0] > 0 and parsed[1])


def test_a_real_file_has_extents(tmp_path):
    path = tmp_path / "w.dat"
    path.write_bytes(b"x" * (1 << 20))
    facts = working_set_facts(path, ("host", "podman"))
    assert facts["working_set_file"] == str(path) and facts["working_set_shared_with"] == "host, podman"
    extents = file_extents(path)  # e2fsprogs' filefrag; tmpfs and some filesystems cannot map it
    assert extents is None or " extents of " in extents


def test_the_shared_file_is_laid_out_once_and_removed_by_the_last_user(tmp_path):
    shared, resources = SharedWorkingSets(), RunResources("t", persist=False)
    run_dir = tmp_path / "iocompare-t"
    laid: list[Path] = []

    def lay_out(path: Path) -> None:
        laid.append(path)
        path.write_bytes(b"\0" * 4096)

    for user in ("host", "podman", "qemu"):
        shared.acquire(user, run_dir, resources)
    first = shared.ensure(run_dir, 4096, lay_out)
    assert shared.ensure(run_dir, 4096, lay_out) == first and laid == [first]
    assert shared.users() == ("host", "podman", "qemu")
    shared.release("host", run_dir, resources)
    shared.release("podman", run_dir, resources)
    assert first.exists()
    shared.release("qemu", run_dir, resources)
    assert not run_dir.exists()


def test_a_failed_layout_leaves_no_file(tmp_path):
    shared, run_dir = SharedWorkingSets(), tmp_path / "run"
    shared.acquire("host", run_dir, RunResources("t", persist=False))

    def fails(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        shared.ensure(run_dir, 4096, fails)
    assert not shared.path(run_dir, 4096).exists()


def context(tmp_path: Path, *, share: bool = True) -> RunContext:
    return RunContext(
        target=tmp_path, run_tag="t", fio=FioBinary("/usr/bin/fio", "fio-3.33"), working_sets=SharedWorkingSets(share)
    )


def test_host_shares_the_file_and_the_twin_keeps_its_own(tmp_path):
    ctx = context(tmp_path)
    host, twin = HostEnvironment("host", ctx), HostEnvironment("host:twin", ctx)
    size = 1 << 30
    assert host.working_set_path(size) == str(tmp_path / "iocompare-t" / "shared" / "working-set-1g.dat")
    assert twin.working_set_path(size).startswith(str(tmp_path / "iocompare-t" / "host-twin"))
    separate = HostEnvironment("host", context(tmp_path, share=False))
    assert "shared" not in separate.working_set_path(size)


def test_the_space_plan_counts_a_shared_file_once(tmp_path):
    ctx = context(tmp_path)
    size = 1 << 20
    envs = {"host": HostEnvironment("host", ctx), "again": HostEnvironment("again", ctx)}
    plan = plan_space(envs, working_set_bytes=size, floor_bytes=size, reserve=Reserve(0, 0.0))
    (fs,) = plan.filesystems
    assert [need.what for _, need in fs.needs] == ["shared working set"] and fs.needed_bytes == size
    separate = context(tmp_path, share=False)
    envs = {"host": HostEnvironment("host", separate), "again": HostEnvironment("again", separate)}
    (fs,) = plan_space(envs, working_set_bytes=size, floor_bytes=size, reserve=Reserve(0, 0.0)).filesystems
    assert fs.needed_bytes == 2 * size


@pytest.mark.parametrize(
    ("name", "shares"),
    [
        ("host", True),
        ("host:twin", False),
        ("podman", True),
        ("docker:volume", False),
        ("podman:tmpfs", False),
        ("qemu", True),
        ("qemu:cache=writeback", True),
        ("qemu:fs", False),
        ("firecracker:fs,io_engine=async", False),
    ],
)
def test_which_environments_reach_the_shared_file(tmp_path, name, shares):
    from iocompare.environments.shared import reaches_shared_file

    assert reaches_shared_file(name) is shares
    if name.startswith("host"):  # the environment itself agrees with the rule
        assert HostEnvironment(name, context(tmp_path)).shares_working_set is shares
