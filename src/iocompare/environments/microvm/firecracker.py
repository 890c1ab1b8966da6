"""Firecracker: the same guest (kernel, initramfs, init, fio) booted by Firecracker from a config
file (`firecracker --no-api --config-file`), its serial console on stdin/stdout as with QEMU.

On x86_64 Firecracker boots an uncompressed ELF vmlinux (extracted from the Debian bzImage at
image build time) and, from version 1.8 on, finds virtio devices through ACPI, which the Debian
kernel needs (it lacks VIRTIO_MMIO_CMDLINE_DEVICES). It opens drive files without O_DIRECT, so
the host page cache is always in the path: every cell carries `host_page_cache_in_path=yes`,
and the working set must outsize host RAM (or the suite says `policy = "label"`). Its default
`cache_type` Unsafe does not pass guest flushes to the host; `cache=writeback` does.

Each config section is exactly the body of the API call that sets it (PUT /boot-source,
/machine-config, /drives/{id}); tests validate them against the API specification.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from iocompare.environments.base import RunContext
from iocompare.environments.microvm.environment import MicroVMEnvironment
from iocompare.environments.microvm.guest_init import CONTROL_SERIAL, TARGET_SERIAL
from iocompare.environments.microvm.image import GuestImage
from iocompare.environments.microvm.options import DriveOption, VariantScheme
from iocompare.errors import UserError
from iocompare.system.proc import run

BINARY_ENV = "IOCOMPARE_FIRECRACKER_BINARY"
DEFAULT_BINARY = "firecracker"
KVM_DEVICE = "/dev/kvm"
MIN_VERSION = (1, 8)  # virtio devices through ACPI
KERNEL_CMDLINE = "console=ttyS0 reboot=k panic=1 pci=off quiet"
LOGICAL_BLOCK_BYTES = 512  # Firecracker's virtio-blk has no block-size setting

SCHEME = VariantScheme(
    kind="firecracker",
    options=(
        DriveOption(
            "cache", ("unsafe", "writeback"), {"unsafe": "guest flushes ignored", "writeback": "flushes reach the host"}
        ),
        DriveOption("io_engine", ("sync", "async"), {"async": "io_uring"}),
        # Listed so that `firecracker:drive=scsi` is refused by name: Firecracker has no virtio-scsi.
        DriveOption("drive", ("blk",), {"blk": "virtio-blk, the only drive model Firecracker has"}),
    ),
)
API_CACHE_TYPE = {"unsafe": "Unsafe", "writeback": "Writeback"}
API_IO_ENGINE = {"sync": "Sync", "async": "Async"}


def firecracker_binary() -> str:
    return os.environ.get(BINARY_ENV) or DEFAULT_BINARY


def firecracker_config(
    *, kernel: Path, initrd: Path, target: Path, control: Path, memory_mib: int, vcpus: int, cache: str, io_engine: str
) -> dict[str, Any]:
    """The --config-file document (Firecracker's FullVmConfiguration)."""
    return {
        "boot-source": {"kernel_image_path": str(kernel), "initrd_path": str(initrd), "boot_args": KERNEL_CMDLINE},
        "machine-config": {"vcpu_count": vcpus, "mem_size_mib": memory_mib, "smt": False},
        "drives": [
            {
                "drive_id": TARGET_SERIAL,
                "path_on_host": str(target),
                "is_root_device": False,
                "is_read_only": False,
                "cache_type": API_CACHE_TYPE[cache],
                "io_engine": API_IO_ENGINE[io_engine],
            },
            {
                "drive_id": CONTROL_SERIAL,
                "path_on_host": str(control),
                "is_root_device": False,
                "is_read_only": False,
                "cache_type": "Writeback",  # the guest's sync must reach the file the host reads
                "io_engine": "Sync",
            },
        ],
    }


def with_network_interface(config: dict[str, Any], *, tap: str, guest_mac: str) -> dict[str, Any]:
    """The configuration plus one virtio-net device backed by a host tap (a network run's path:
    the tap is the run's own `ioc-<run>` device on its bridge; docs/network.md)."""
    nic = {"iface_id": "eth0", "host_dev_name": tap, "guest_mac": guest_mac}
    return {**config, "network-interfaces": [nic]}


def api_requests(config: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The API calls equivalent to a config file, in boot order: (method, path, body)."""
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("PUT", "/machine-config", config["machine-config"]),
        ("PUT", "/boot-source", config["boot-source"]),
    ]
    requests += [("PUT", f"/drives/{drive['drive_id']}", drive) for drive in config["drives"]]
    nics = config.get("network-interfaces", [])
    requests += [("PUT", f"/network-interfaces/{nic['iface_id']}", nic) for nic in nics]
    requests.append(("PUT", "/actions", {"action_type": "InstanceStart"}))
    return requests


def parse_version(text: str) -> tuple[int, int] | None:
    match = re.search(r"v?(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


@functools.cache
def firecracker_version(binary: str) -> str:
    return run([binary, "--version"], timeout_s=30).stdout.splitlines()[0].strip()


class FirecrackerEnvironment(MicroVMEnvironment):
    kind = "firecracker"
    description = "Firecracker guest (needs KVM)"
    scheme = SCHEME
    env_prefix = "FIRECRACKER"
    vmm_label = "firecracker"

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        self.binary = firecracker_binary()

    @classmethod
    def vmm_unavailable_reason(cls) -> str | None:
        binary = firecracker_binary()
        if shutil.which(binary) is None:
            return f"{binary} not found on PATH" + (f" (set {BINARY_ENV})" if binary == DEFAULT_BINARY else "")
        if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
            return f"{KVM_DEVICE} is missing or not accessible (Firecracker needs KVM)"
        return None

    @classmethod
    def image_unavailable_reason(cls, image: GuestImage) -> str | None:
        if not image.vmlinux.is_file():
            return (
                f"the guest image {image.content_hash[:12]} has no ELF vmlinux "
                "(rebuild: iocompare image build --kind guest --force)"
            )
        return None

    def prepare_vmm(self) -> None:
        version_text = firecracker_version(self.binary)
        version = parse_version(version_text)
        if version is None or version < MIN_VERSION:
            raise UserError(
                f"{self.binary} is {version_text!r}: "
                f"iocompare needs Firecracker {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer",
                hint="older versions do not find virtio devices through ACPI, which the Debian kernel needs",
            )

    def vm_config(self, control: Path) -> dict[str, Any]:
        return firecracker_config(
            kernel=self.image.vmlinux,
            initrd=self.image.initramfs,
            target=self.disk,
            control=control,
            memory_mib=self.config.memory_mib,
            vcpus=self.config.vcpus,
            cache=self.variant.get("cache"),
            io_engine=self.variant.get("io_engine"),
        )

    def vmm_argv(self, directory: Path, control: Path) -> list[str]:
        config_path = directory / "vm-config.json"
        config_path.write_text(json.dumps(self.vm_config(control), indent=2) + "\n")
        vm_id = f"iocompare-{self.context.run_tag}-{directory.name}"
        return [self.binary, "--id", vm_id, "--no-api", "--config-file", str(config_path)]

    def is_vcpu_thread(self, name: str) -> bool:
        return name.startswith("fc_vcpu")

    def host_cache_bypassed(self) -> bool:
        return False  # Firecracker opens drive files without O_DIRECT

    def guest_logical_block_size(self) -> int | None:
        return LOGICAL_BLOCK_BYTES

    def vmm_facts(self) -> dict[str, str]:
        cache = self.variant.get("cache")
        facts = {
            "vmm": "firecracker",
            "vmm_path": shutil.which(self.binary) or self.binary,
            "accelerator": "kvm",
            "drive_model": "virtio-blk",
            "drive_interface": "virtio-blk (virtio-mmio)",
            "drive_cache_type": API_CACHE_TYPE[cache],
            "drive_io_engine": API_IO_ENGINE[self.variant.get("io_engine")],
            "host_page_cache_in_path": "yes",
            "flushes_reach_host": "no (cache_type Unsafe ignores guest flushes)"
            if cache == "unsafe"
            else "yes (cache_type Writeback)",
        }
        if shutil.which(self.binary):
            facts["vmm_version"] = firecracker_version(self.binary)
        return facts
