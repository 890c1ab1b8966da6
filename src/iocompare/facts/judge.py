"""The judgements made from recorded facts, each in exactly one place: is the target memory, is
O_DIRECT honoured, is a page cache in the path, was the CPU emulated. Each answers True, False or
None (not known from what was recorded): a caller that gets None says "not evaluated"."""

from __future__ import annotations

from collections.abc import Mapping

from iocompare.facts import registry as fk

# Filesystems whose numbers measure memory, or that drop O_DIRECT: detected by type, never by
# fio's exit code (tmpfs accepts O_DIRECT since Linux 6.6 but still measures RAM).
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
NO_DIRECT_FILESYSTEMS = frozenset({"fuse", "fuseblk", "fuse.fuse-overlayfs"})


def is_memory_filesystem(fs_type: str) -> bool:
    return fs_type in MEMORY_FILESYSTEMS


def drops_direct_io(fs_type: str) -> bool:
    return fs_type in NO_DIRECT_FILESYSTEMS or fs_type.startswith("fuse.")


def filesystem_types(facts: Mapping[str, str]) -> list[str]:
    """Every filesystem type recorded for the target (host side, inside, container storage kind)."""
    types = [t for t in (fk.FS_TYPE.get(facts), fk.FS_TYPE_INSIDE.get(facts)) if t]
    if fk.MOUNT_KIND.get(facts) == "tmpfs":
        types.append("tmpfs")
    return list(dict.fromkeys(types))


def memory_backed(facts: Mapping[str, str]) -> bool | None:
    if fk.MEMORY_BACKED.get(facts) or any(is_memory_filesystem(t) for t in filesystem_types(facts)):
        return True
    if filesystem_types(facts) or fk.MEMORY_BACKED.get(facts) is False:
        return False
    return None


def direct_io_honoured(facts: Mapping[str, str]) -> bool | None:
    recorded = fk.DIRECT_IO_HONOURED.get(facts)
    if recorded is False or any(drops_direct_io(t) for t in filesystem_types(facts)):
        return False
    if recorded is True or filesystem_types(facts):
        return True
    return None


def host_page_cache_in_path(facts: Mapping[str, str]) -> bool | None:
    return fk.HOST_PAGE_CACHE_IN_PATH.get(facts)


def software_emulated(facts: Mapping[str, str]) -> bool | None:
    """TCG: the guest CPU is emulated, so its timings do not represent a KVM host."""
    accelerator = fk.ACCELERATOR.get(facts)
    return None if accelerator is None else accelerator == "tcg"


def storage_facts_for(fs_type: str) -> dict[str, str]:
    """The facts a filesystem type implies by itself, recorded beside it when the target is probed."""
    facts = {}
    if is_memory_filesystem(fs_type):
        facts[fk.MEMORY_BACKED.name] = "yes"
    if drops_direct_io(fs_type):
        facts[fk.DIRECT_IO_HONOURED.name] = "no"
    return facts
