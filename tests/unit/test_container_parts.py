"""Container pieces that need no engine: image contents and hash, mounts seen inside, cgroups,
ownership labels of leftovers."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import psutil
import pytest

from iocompare.environments.container import image as ci
from iocompare.environments.container.cgroup import Cgroup, cgroup_of, process_roots
from iocompare.environments.container.environment import VARIANTS, mount_inside
from iocompare.environments.container.labels import (
    LABEL_HOST,
    LABEL_PID,
    LABEL_PID_START,
    owner_is_dead,
    owner_labels,
)
from iocompare.errors import ToolError

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd4a1f2000)
\tlibaio.so.1 => /lib/x86_64-linux-gnu/libaio.so.1 (0x00007f21dde88000)
\tlibceph-common.so.2 => /usr/lib/x86_64-linux-gnu/ceph/libceph-common.so.2 (0x00007f21d3a00000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f21dcdc9000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f21ddecc000)
"""


def test_ldd_output_gives_libraries_and_loader_but_not_vdso():
    assert ci.shared_libraries(LDD) == [
        "/lib/x86_64-linux-gnu/libaio.so.1",
        "/usr/lib/x86_64-linux-gnu/ceph/libceph-common.so.2",
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
    ]
    with pytest.raises(ToolError, match="libgone"):
        ci.shared_libraries("\tlibgone.so.1 => not found\n")


@pytest.fixture
def rootfs_files(tmp_path):
    fio, lib = tmp_path / "fio", tmp_path / "libx.so"
    fio.write_bytes(b"\x7fELF fio")
    lib.write_bytes(b"lib v1")
    return fio, lib


def make_rootfs(fio, lib) -> ci.Rootfs:
    return ci.Rootfs(((ci.FIO_IN_IMAGE, str(fio)), ("/usr/lib/x/libx.so", str(lib))), (("/bin/sh", "busybox"),))


def test_content_hash_follows_the_bytes_and_the_builder_version(rootfs_files, monkeypatch):
    fio, lib = rootfs_files
    first = make_rootfs(fio, lib).content_hash()
    assert make_rootfs(fio, lib).content_hash() == first  # stable: a warm build finds the same tag
    lib.write_bytes(b"lib v2, a new build")
    assert make_rootfs(fio, lib).content_hash() != first
    second = make_rootfs(fio, lib).content_hash()
    monkeypatch.setattr(ci, "BUILDER_VERSION", "999")
    assert make_rootfs(fio, lib).content_hash() != second


def test_tarball_holds_files_links_and_mount_points(rootfs_files, tmp_path):
    fio, lib = rootfs_files
    archive = tmp_path / "r.tar"
    make_rootfs(fio, lib).write_tar(archive)
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("usr/bin/fio").read() == b"\x7fELF fio"
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "busybox"
    assert members["usr/lib/x"].isdir() and members["usr/lib/x/libx.so"].uid == 0
    for directory in ("tmp", "data", "iocompare", "proc", "sys", "dev"):
        assert members[directory].isdir()
    assert members["tmp"].mode == 0o1777


def test_rootfs_of_the_real_fio_has_its_loader_and_libraries():
    busybox = ci.find_busybox()
    if busybox is None:
        pytest.fail("busybox-static is needed (scripts/setup.sh installs it)")
    rootfs = ci.plan_rootfs(shutil.which("fio"), busybox)
    dests = dict(rootfs.files)
    assert ci.FIO_IN_IMAGE in dests and ci.BUSYBOX_IN_IMAGE in dests
    assert any("ld-linux" in dest for dest in dests) and any("libaio" in dest for dest in dests)


def test_image_names_and_dates():
    assert ci.short_name("localhost/iocompare-fio:abc") == "iocompare-fio:abc"
    assert ci.short_name("iocompare-fio:abc") == "iocompare-fio:abc"
    assert ci._created("2026-11-25T19:58:48.199151464Z") == ci._created("2026-11-25T19:58:48Z") > 0
    assert ci._created("2026-11-25T20:58:48+01:00") == ci._created("2026-11-25T19:58:48Z")
    assert ci._created(None) == 0.0


MOUNTINFO = """\
75 49 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
76 75 254:0 /var/tmp/x /data rw,relatime - ext4 /dev/vda rw,discard
77 75 0:43 / /proc rw,nosuid - proc proc rw
78 75 0:44 / /data2 rw - tmpfs tmpfs rw,size=64k
"""


def test_mount_seen_inside_the_container():
    data = mount_inside(MOUNTINFO)
    assert (data.mount_point, data.fs_type, data.source) == ("/data", "ext4", "/dev/vda")
    assert "discard" in data.options
    overlay = mount_inside(MOUNTINFO.replace(" /data ", " /elsewhere "))
    assert overlay.mount_point == "/" and overlay.fs_type == "overlay"
    assert mount_inside("") is None


def test_variants_say_where_the_working_set_lives():
    assert VARIANTS[None].mount_kind == "bind" and not VARIANTS[None].per_trial_layout
    assert not VARIANTS["volume"].per_trial_layout
    assert VARIANTS["overlay"].per_trial_layout and VARIANTS["tmpfs"].per_trial_layout


def test_cgroup_v1_and_v2_are_found_from_proc(tmp_path):
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "cgroup").write_text("2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/docker/abc\n")
    v1_info = "30 25 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    assert cgroup_of(42, proc=proc, mountinfo=v1_info) == Cgroup(Path("/sys/fs/cgroup/cpuacct/docker/abc"), 1)

    unified = tmp_path / "cg2"
    (unified / "docker" / "abc").mkdir(parents=True)
    (unified / "docker" / "abc" / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 1\n")
    (unified / "docker" / "abc" / "cgroup.procs").write_text("7\n8\n")
    (proc / "42" / "cgroup").write_text("0::/docker/abc\n")
    v2_info = f"31 25 0:31 / {unified} rw - cgroup2 cgroup2 rw\n"
    cgroup = cgroup_of(42, proc=proc, mountinfo=v2_info)
    assert cgroup == Cgroup(unified / "docker" / "abc", 2)
    assert cgroup.cpu_usage_s() == 2.5 and cgroup.procs() == [7, 8]
    assert cgroup_of(43, proc=proc, mountinfo=v2_info) is None


def test_cgroup_v1_counter(tmp_path):
    (tmp_path / "cpuacct.usage").write_text("1500000000\n")
    assert Cgroup(tmp_path, 1).cpu_usage_s() == 1.5
    assert Cgroup(tmp_path / "gone", 1).cpu_usage_s() is None and Cgroup(tmp_path / "gone", 1).procs() == []


def test_process_roots_count_each_tree_once():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        me = psutil.Process().pid
        assert process_roots([me, child.pid]) == [me]
        assert process_roots([child.pid]) == [child.pid]
    finally:
        child.kill()
        child.wait()


def _labels(args: list[str]) -> dict[str, str]:
    return dict(value.split("=", 1) for flag, value in zip(args[::2], args[1::2], strict=True) if flag == "--label")


def test_leftovers_belong_to_dead_processes_only():
    mine = _labels(owner_labels("abc"))
    assert mine["iocompare.run"] == "abc" and not owner_is_dead(mine)
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert owner_is_dead({**mine, LABEL_PID: str(gone.pid), LABEL_PID_START: "1"})
    assert owner_is_dead({**mine, LABEL_PID_START: "12345.00"})  # our PID, but another process's start
    assert not owner_is_dead({**mine, LABEL_PID: str(gone.pid), LABEL_HOST: platform.node() + "-other"})
    assert not owner_is_dead({LABEL_HOST: platform.node(), LABEL_PID: "x"})
