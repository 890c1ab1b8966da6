"""The IO path of an environment as a chain of boxes, from fio down to the device, built only from
the facts stored with the run (so the diagram of an old run shows what that run recorded).

Each kind knows its layers (host: fio -> filesystem -> device; container: fio -> mount ->
filesystem -> device; microVM: guest fio -> the drive model (virtio-blk, or QEMU's virtio-scsi with
its scsi-hd disk) -> the VMM's drive options -> image file on
the host filesystem -> device). An unknown kind (an imported run, a future backend) gets a
generic chain from whatever facts are present; a missing fact shows as "?" rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from iocompare.facts import judge

CONTAINER_KINDS = frozenset({"docker", "podman"})
VM_KINDS = frozenset({"qemu", "firecracker"})
_UNKNOWN = "?"


@dataclass(frozen=True)
class Hop:
    label: str  # "ext4", "virtio-blk"
    detail: str = ""  # "/var/tmp (rw,relatime)", "cache=none aio=io_uring"
    warning: str = ""  # set when this layer makes the numbers suspect (memory, no O_DIRECT)


def _fio(facts: Mapping[str, str], where: str = "") -> Hop:
    version = facts.get("fio_version", "")
    return Hop(f"{where}fio".strip(), version)


def _filesystem(
    facts: Mapping[str, str], fs_key: str = "fs_type", path_key: str = "mount_point", options_key: str = "mount_options"
) -> Hop:
    fs = facts.get(fs_key, _UNKNOWN)
    where = facts.get(path_key, "")
    options = facts.get(options_key, "")
    detail = " ".join(p for p in (where, f"({options})" if options else "") if p)
    return Hop(fs, detail, _memory_warning(facts, fs))


def _memory_warning(facts: Mapping[str, str], fs: str) -> str:
    # A hop warns for its own filesystem; a hop whose type is not a known disk filesystem takes the
    # judgement of the whole path (a container's tmpfs shows on the hop above the host's ext4).
    if judge.is_memory_filesystem(fs) or (judge.memory_backed(facts) and fs not in ("ext4", "xfs", "btrfs")):
        return "memory-backed: measures RAM, not storage"
    if judge.direct_io_honoured(facts) is False:
        return "O_DIRECT not honoured"
    return ""


def _device(facts: Mapping[str, str]) -> Hop:
    name = facts.get("device", _UNKNOWN)
    parts = []
    if facts.get("device_model"):
        parts.append(facts["device_model"])
    if facts.get("logical_block_size"):
        parts.append(f"{facts.get('host_logical_block_size', facts['logical_block_size'])} B logical blocks")
    if facts.get("scheduler"):
        parts.append(f"scheduler {facts['scheduler']}")
    return Hop(name if name.startswith("/dev/") or name == _UNKNOWN else f"/dev/{name}", ", ".join(parts))


def _host(facts: Mapping[str, str]) -> list[Hop]:
    if facts.get("fs_type", "").startswith("none"):
        return [_fio(facts), Hop("raw block device", facts.get("target_path", "")), _device(facts)]
    return [_fio(facts), _filesystem(facts), _device(facts)]


def _container(kind: str, facts: Mapping[str, str]) -> list[Hop]:
    mount = facts.get("mount_kind", _UNKNOWN)
    inside = facts.get("fs_type_inside", facts.get("fs_type", _UNKNOWN))
    hops = [
        _fio(facts, "container "),
        Hop(f"{kind} {facts.get('runtime', '')}".strip(), f"cgroup {facts.get('cgroup_manager', _UNKNOWN)}"),
    ]
    target = facts.get("container_target_path", "")
    if mount == "tmpfs":
        return [*hops, Hop("tmpfs mount", target, "memory-backed: measures RAM, not storage")]
    if mount == "overlay":
        hops.append(
            Hop(f"{facts.get('storage_driver', 'overlay')} (container layer)", target, _memory_warning(facts, inside))
        )
    elif mount == "volume":
        hops.append(
            Hop("named volume", f"{facts.get('volume', '')} at {target}".strip(), _memory_warning(facts, inside))
        )
    else:
        hops.append(Hop(f"{mount} mount", target, _memory_warning(facts, inside)))
    host_fs = {**facts, "fs_type": facts.get("host_fs_type", _UNKNOWN)}
    return [*hops, _filesystem(host_fs), _device(facts)]


def _drive(facts: Mapping[str, str]) -> Hop:
    # Runs stored before the drive_model fact existed had only virtio-blk.
    model = facts.get("drive_model", "virtio-blk")
    kernel = f"guest kernel {facts.get('guest_kernel', _UNKNOWN)}"
    detail = f"scsi-hd disk on a virtio-scsi adapter, {kernel}" if model == "virtio-scsi" else kernel
    return Hop(facts.get("drive_interface", model), detail)


def _vm(kind: str, facts: Mapping[str, str]) -> list[Hop]:
    accel = facts.get("accelerator", _UNKNOWN)
    hops = [_fio(facts, "guest ")]
    if "ext4" in facts.get("guest_target", "") or facts.get("fs_type_inside"):
        hops.append(Hop(f"guest {facts.get('fs_type_inside', 'ext4')}", "made in the guest"))
    hops.append(_drive(facts))
    tcg = "software emulation (TCG): timings not representative" if judge.software_emulated(facts) else ""
    if kind == "firecracker" or facts.get("vmm") == "firecracker":
        options = (
            f"cache_type={facts.get('drive_cache_type', _UNKNOWN)} io_engine={facts.get('drive_io_engine', _UNKNOWN)}"
        )
        hops.append(Hop(f"Firecracker ({accel})", options, tcg))
    else:
        options = f"cache={facts.get('drive_cache', _UNKNOWN)} aio={facts.get('drive_aio', _UNKNOWN)}"
        hops.append(Hop(f"QEMU ({accel})", options, tcg))
    if judge.host_page_cache_in_path(facts):
        hops.append(Hop("host page cache", "in the path (no O_DIRECT on the image)"))
    image = facts.get("disk_image", "")
    hops.append(Hop(f"{facts.get('disk_image_format', 'raw')} image", image.rsplit("/", 1)[-1]))
    return [*hops, _filesystem(facts), _device(facts)]


def _generic(kind: str, facts: Mapping[str, str]) -> list[Hop]:
    hops = [_fio(facts), Hop(kind or "environment", facts.get("source", ""))]
    if "fs_type" in facts:
        hops.append(_filesystem(facts))
    elif "target_path" in facts:
        hops.append(Hop("target", facts["target_path"]))
    if "device" in facts:
        hops.append(_device(facts))
    return hops


def io_path(kind: str, facts: Mapping[str, str]) -> tuple[Hop, ...]:
    """The environment's layers, top (fio) to bottom (device)."""
    if kind == "host":
        return tuple(_host(facts))
    if kind in CONTAINER_KINDS:
        return tuple(_container(kind, facts))
    if kind in VM_KINDS or "vmm" in facts:
        return tuple(_vm(kind, facts))
    return tuple(_generic(kind, facts))


def describe(hops: tuple[Hop, ...]) -> str:
    """One line for Markdown and terminals: 'fio -> ext4 -> /dev/vda'."""
    return " → ".join(h.label for h in hops)
