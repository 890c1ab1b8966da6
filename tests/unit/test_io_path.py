"""IO path diagrams come from the stored facts of each kind; unknown kinds get a generic chain."""

from __future__ import annotations

from iocompare.report.io_path import describe, io_path

HOST = {
    "fio_version": "fio-3.33",
    "fs_type": "ext4",
    "mount_point": "/",
    "mount_options": "rw,relatime",
    "device": "vda",
    "logical_block_size": "512",
}


def test_host_chain():
    hops = io_path("host", HOST)
    assert describe(hops) == "fio → ext4 → /dev/vda"
    assert hops[1].detail == "/ (rw,relatime)" and "512 B logical blocks" in hops[2].detail


def test_host_raw_block_device():
    hops = io_path("host", {"fs_type": "none (raw block device)", "device": "sdb", "target_path": "/dev/sdb"})
    assert describe(hops) == "fio → raw block device → /dev/sdb"


def test_container_bind_and_tmpfs():
    facts = {**HOST, "mount_kind": "bind", "host_fs_type": "ext4", "fs_type": "ext4", "runtime": "runc",
             "cgroup_manager": "cgroupfs", "container_target_path": "/data"}  # fmt: skip
    assert describe(io_path("podman", facts)) == "container fio → podman runc → bind mount → ext4 → /dev/vda"
    tmpfs = io_path("docker", {**facts, "mount_kind": "tmpfs", "fs_type": "tmpfs", "memory_backed": "yes"})
    assert tmpfs[-1].label == "tmpfs mount" and "memory-backed" in tmpfs[-1].warning


def test_qemu_tcg_and_firecracker():
    qemu = {**HOST, "vmm": "qemu", "accelerator": "tcg", "drive_cache": "none", "drive_aio": "io_uring",
            "drive_interface": "virtio-blk (virtio-mmio)", "guest_target": "raw virtio-blk disk",
            "disk_image": "/var/tmp/s/disk.img", "disk_image_format": "raw"}  # fmt: skip
    hops = io_path("qemu", qemu)
    assert describe(hops) == "guest fio → virtio-blk (virtio-mmio) → QEMU (tcg) → raw image → ext4 → /dev/vda"
    assert hops[2].detail == "cache=none aio=io_uring" and "TCG" in hops[2].warning
    scsi = io_path("qemu", {**qemu, "drive_model": "virtio-scsi", "drive_interface": "virtio-scsi (virtio-mmio)"})
    assert describe(scsi) == "guest fio → virtio-scsi (virtio-mmio) → QEMU (tcg) → raw image → ext4 → /dev/vda"
    assert scsi[1].detail.startswith("scsi-hd disk on a virtio-scsi adapter, guest kernel")
    assert not hops[1].detail.startswith("scsi-hd")
    fs = io_path("qemu", {**qemu, "guest_target": "file on ext4 made in the guest", "fs_type_inside": "ext4"})
    assert fs[1].label == "guest ext4"
    fc = {
        **HOST,
        "vmm": "firecracker",
        "accelerator": "kvm",
        "drive_cache_type": "Writeback",
        "drive_io_engine": "Sync",
        "host_page_cache_in_path": "yes",
    }
    hops = io_path("firecracker", fc)
    assert "Firecracker (kvm)" in describe(hops) and "host page cache" in describe(hops) and not hops[2].warning


def test_unknown_kind_is_generic_and_never_guesses():
    assert (
        describe(io_path("imported", {"fio_version": "fio-3.33", "target_path": "/data/x"}))
        == "fio → imported → target"
    )
    assert describe(io_path("remote", {})) == "fio → remote"
    assert describe(io_path("qemu", {})).count("?") >= 2  # missing facts show as "?"
