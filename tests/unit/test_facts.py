from pathlib import Path

from iocompare.facts.probe import find_mount, host_facts, storage_facts

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
40 27 0:30 / /var/tmp/fast rw,nosuid - tmpfs tmpfs rw,size=65536k
41 27 254:16 / /mnt/with\\040space rw - xfs /dev/vdb rw,attr2
42 27 0:50 / /var/tmp/fastx rw - fuse.fuse-overlayfs fuse-overlayfs rw
"""


def test_longest_mount_prefix_wins():
    assert find_mount(Path("/var/tmp/fast/x"), MOUNTINFO).fs_type == "tmpfs"
    assert find_mount(Path("/var/tmp/fastx/y"), MOUNTINFO).fs_type == "fuse.fuse-overlayfs"
    assert find_mount(Path("/var/tmp/faster"), MOUNTINFO).fs_type == "ext4"  # a prefix of the name is not a parent
    root = find_mount(Path("/home"), MOUNTINFO)
    assert (root.mount_point, root.source, root.major_minor) == ("/", "/dev/vda", "254:0")
    assert root.options == "rw,relatime,rw,discard"


def test_escaped_mount_points():
    mount = find_mount(Path("/mnt/with space/file"), MOUNTINFO)
    assert mount.fs_type == "xfs" and mount.mount_point == "/mnt/with space"


def test_storage_facts_of_a_real_directory(tmp_path):
    facts = storage_facts(tmp_path)
    assert facts["target_path"] == str(tmp_path)
    assert facts["fs_type"] and facts["mount_point"]
    if "device" in facts:  # block-backed filesystems name their device and its queue limits
        assert int(facts.get("logical_block_size", "512")) in {512, 1024, 2048, 4096}


def test_memory_filesystem_is_labelled():
    facts = storage_facts(Path("/dev/shm"))
    assert facts["fs_type"] == "tmpfs" and facts["memory_backed"] == "yes"


def test_host_facts_name_kernel_and_cpu():
    facts = host_facts()
    assert facts["kernel"] and facts["cpu_model"] and int(facts["memory_bytes"]) > 0
