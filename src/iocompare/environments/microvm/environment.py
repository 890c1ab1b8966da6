"""What the QEMU and Firecracker environments share.

The Environment (one per run) owns a raw disk image in the run's scratch directory on the target
filesystem: preallocated, so the host filesystem's block allocation is not what a trial
measures, and laid out once. An Instance is one VM boot, for exactly one trial (METHODOLOGY:
one trial = one fresh instance); the disk image persists across boots.

Raw variant: fio drives the virtio disk itself (/dev/iocompare/target in the guest, `size` =
the working set); the image is laid out on the host side with the host's fio, which is honest
because the guest reads the very same bytes. `fs` variant: ext4 is made inside the guest and
the working-set file is laid out there, in a layout boot before the first trial.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psutil

from iocompare.engines.fio_job import render_layout_job
from iocompare.environments.base import CacheLayer, Environment, InstanceLedger, RunContext, SpaceNeed
from iocompare.environments.extents import working_set_facts
from iocompare.environments.host import check_target, lay_out_on_host, run_fio_in
from iocompare.environments.microvm.guest_init import GUEST_FIO_PATH, GUEST_MOUNT_POINT, GUEST_TARGET_DEVICE
from iocompare.environments.microvm.image import GuestImage, find_image
from iocompare.environments.microvm.instance import MicroVMInstance
from iocompare.environments.microvm.kernel import sha256_file
from iocompare.environments.microvm.options import Variant, VariantScheme, name_for_path
from iocompare.errors import ToolError, UserError
from iocompare.facts.probe import storage_facts
from iocompare.system.proc import describe_failure
from iocompare.system.resources import Resource, RunResources
from iocompare.units import format_size, short_size

MIB = 1 << 20
DEFAULT_MEMORY_MIB = 512
DEFAULT_VCPUS = 2
DEFAULT_BOOT_TIMEOUT_S = 120  # software emulation on a busy 2-core machine boots in 5-20 s


def _int_setting(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"{name}={text!r} is not a whole number") from None
    if not low <= value <= high:
        raise UserError(f"{name}={value} is out of range: must be from {low} to {high}")
    return value


@dataclass(frozen=True)
class GuestConfig:
    memory_mib: int
    vcpus: int
    boot_timeout_s: int

    @classmethod
    def from_environ(cls, prefix: str) -> GuestConfig:
        """IOCOMPARE_<PREFIX>_MEMORY_MIB, _VCPUS, _BOOT_TIMEOUT_S (docs/microvms.md)."""
        return cls(
            memory_mib=_int_setting(f"IOCOMPARE_{prefix}_MEMORY_MIB", DEFAULT_MEMORY_MIB, 1, 1 << 20),
            vcpus=_int_setting(f"IOCOMPARE_{prefix}_VCPUS", DEFAULT_VCPUS, 1, 32),
            boot_timeout_s=_int_setting(f"IOCOMPARE_{prefix}_BOOT_TIMEOUT_S", DEFAULT_BOOT_TIMEOUT_S, 1, 3600),
        )


def minimum_memory_mib(image: GuestImage) -> int:
    """The kernel holds the initramfs twice while unpacking it (archive + files), plus room for
    the kernel itself and fio's buffers."""
    return -(-2 * int(image.manifest["initramfs_bytes"]) // MIB) + 128


def fs_image_bytes(working_set_bytes: int) -> int:
    """Disk image size for the in-guest ext4 variant: the working set, inode tables and bitmaps
    (ext4's default 16 KiB per inode is ~1.6 %; 1/16 leaves room), the journal mke2fs picks
    for that size, and slack. No reserved blocks (mke2fs -m 0)."""
    if working_set_bytes <= 2 << 30:
        journal = 64 * MIB
    elif working_set_bytes <= 32 << 30:
        journal = 256 * MIB
    else:
        journal = 1 << 30
    size = working_set_bytes + working_set_bytes // 16 + journal + 32 * MIB
    return -(-size // MIB) * MIB


def allocate(path: Path, size_bytes: int) -> str:
    """Create the disk image with its blocks allocated; returns how, for the facts."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.posix_fallocate(fd, 0, size_bytes)
            return "preallocated (posix_fallocate)"
        except OSError:
            os.ftruncate(fd, size_bytes)
            return "sparse (the filesystem does not support fallocate)"
    finally:
        os.close(fd)


_FIO_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def fio_sha256(path: str) -> str:
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _FIO_SHA_CACHE:
        _FIO_SHA_CACHE[key] = sha256_file(Path(key[0]))
    return _FIO_SHA_CACHE[key]


class MicroVMEnvironment(Environment):
    scheme: ClassVar[VariantScheme]
    env_prefix: ClassVar[str]  # IOCOMPARE_<prefix>_MEMORY_MIB ...
    vmm_label: ClassVar[str]

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        _, _, variant_text = name.partition(":")
        self.variant: Variant = self.scheme.parse(variant_text or None)
        self.config = GuestConfig.from_environ(self.env_prefix)
        image = find_image()
        if image is None:
            raise UserError("no guest image is built", hint="iocompare image build --kind guest")
        self.image = image
        minimum = minimum_memory_mib(image)
        if self.config.memory_mib < minimum:
            raise UserError(
                f"IOCOMPARE_{self.env_prefix}_MEMORY_MIB={self.config.memory_mib} is too little for the guest: "
                f"it needs at least {minimum} MiB (its initramfs alone is "
                f"{format_size(int(image.manifest['initramfs_bytes']))})"
            )
        self.scratch = context.target / f"iocompare-{context.run_tag}" / name_for_path(name)
        # Raw variant: the virtio disk can be the run's shared working-set file itself (the guest
        # reads the device, the host the file: the same extents). `fs` makes its own ext4.
        self.shares_working_set = context.working_sets.enabled and not self.variant.in_guest_fs
        self.disk = self.scratch / "disk.img"
        self._laid_out_bytes: int | None = None
        self._allocation = ""
        self._live: InstanceLedger[MicroVMInstance] = InstanceLedger()
        self._registered: list[Resource] = []
        self._facts: dict[str, str] | None = None

    # --- what the subclasses provide -------------------------------------------------------
    @classmethod
    def vmm_unavailable_reason(cls) -> str | None:
        raise NotImplementedError

    @classmethod
    def image_unavailable_reason(cls, image: GuestImage) -> str | None:
        return None

    def prepare_vmm(self) -> None:
        """Checks and probes before the first boot (version, accelerator)."""

    def vmm_argv(self, directory: Path, control: Path) -> list[str]:
        raise NotImplementedError

    def is_vcpu_thread(self, name: str) -> bool:
        raise NotImplementedError

    def host_cache_bypassed(self) -> bool:
        raise NotImplementedError

    def vmm_facts(self) -> dict[str, str]:
        raise NotImplementedError

    def drive_model(self) -> str:
        """How the guest sees the test disk: "virtio-blk" or "virtio-scsi" (the drive_model fact)."""
        return "virtio-blk"

    def guest_logical_block_size(self) -> int | None:
        """The target disk's logical block size as the guest sees it (None: the host's)."""
        return None

    # --- registry hooks --------------------------------------------------------------------
    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        return cls.scheme.listing(cls.description)

    @classmethod
    def check_variant(cls, variant: str | None) -> None:
        cls.scheme.check(variant)

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        reason = cls.vmm_unavailable_reason()
        if reason is not None:
            return reason
        try:
            image = find_image()
        except UserError as exc:
            return exc.one_line()
        if image is None:
            return "no guest image is built (run: iocompare image build --kind guest)"
        fio = shutil.which("fio")
        if fio is not None and fio_sha256(fio) != image.fio_sha256:
            return (
                f"the guest image {image.content_hash[:12]} carries another fio build than {fio} "
                "(rebuild: iocompare image build --kind guest)"
            )
        return cls.image_unavailable_reason(image)

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def host_storage_path(self) -> Path:
        return self.scratch if self.scratch.exists() else self.context.target

    def setup(self) -> None:
        check_target(self.context.target)
        if fio_sha256(self.context.fio.path) != self.image.fio_sha256:
            raise UserError(
                f"the guest image {self.image.content_hash[:12]} carries another fio build than "
                f"{self.context.fio.path}: the same fio must run in every environment",
                hint="iocompare image build --kind guest (it copies the fio on PATH)",
            )
        resources = self.context.resources
        self._registered = [
            resources.add_path(self.scratch.parent, note="run scratch directory"),
            resources.add_path(self.scratch, note=f"{self.name} disk image and VM files"),
        ]
        self.scratch.mkdir(parents=True, exist_ok=True)
        if self.shares_working_set:
            self.context.working_sets.acquire(self.name, self.context.run_dir, resources)
        self.prepare_vmm()

    def teardown(self) -> None:
        for instance in self._live.live():
            instance.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.shares_working_set:
            self.context.working_sets.release(self.name, self.context.run_dir, self.context.resources)
        with contextlib.suppress(OSError):
            self.scratch.parent.rmdir()  # the run's directory, once no environment uses it
        for resource in self._registered:
            if not Path(resource.ident).exists():
                self.context.resources.discard(resource)
        self._laid_out_bytes = None

    def instance(self) -> MicroVMInstance:
        return MicroVMInstance(self, scratch=self.scratch, ledger=self._live)

    # --- what one boot needs (microvm/instance.py's GuestHost) ------------------------------
    @property
    def resources(self) -> RunResources:
        return self.context.resources

    @property
    def boot_timeout_s(self) -> float:
        return self.config.boot_timeout_s

    @property
    def mounts_in_guest(self) -> bool:
        return self.variant.in_guest_fs

    # --- working set -----------------------------------------------------------------------
    def working_set_path(self, size_bytes: int) -> str:
        if self.variant.in_guest_fs:
            return f"{GUEST_MOUNT_POINT}/working-set-{short_size(size_bytes)}.dat"
        return GUEST_TARGET_DEVICE

    def disk_bytes(self, working_set_bytes: int) -> int:
        return fs_image_bytes(working_set_bytes) if self.variant.in_guest_fs else working_set_bytes

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        if self.shares_working_set:
            shared = self.context.working_sets.path(self.context.run_dir, working_set_bytes)
            disk = SpaceNeed(self.context.target, working_set_bytes, "shared working set", shared_as=shared)
        else:
            disk = SpaceNeed(self.context.target, self.disk_bytes(working_set_bytes), f"{self.name}: disk image")
        return (
            disk,
            SpaceNeed(
                self.context.target,
                4 * MIB,
                f"{self.name}: control disk and console log",
                scales_with_working_set=False,
            ),
        )

    def crossover_unreachable(self) -> str | None:
        if self.variant.in_guest_fs:
            return f"{self.name} reads a file on ext4 made in the guest on its own disk, not a host file"
        return None  # the raw virtio disk is the host file itself

    def read_host_file(self, path: Path | None) -> None:
        super().read_host_file(path)
        disk = path if path is not None else self.scratch / "disk.img"
        if self.disk != disk:  # at once: the trial's facts (disk_image) are read before its layout step
            self.disk = disk
            self._allocation = (
                "a working-set file of the cross-over diagnosis (laid out by the host's fio)" if path else ""
            )
            self._laid_out_bytes = None
            self._facts = None

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        """Lay out once per run. Another working-set size re-creates the disk image (a suite
        has one working-set size, so this does not happen within a normal run)."""
        if self.crossover_file is not None:
            return  # laid out by the cross-over diagnosis: it is the disk (read_host_file)
        if self.shares_working_set:
            self.disk = self.context.working_sets.ensure(
                self.context.run_dir,
                size_bytes,
                lambda path: lay_out_on_host(
                    self.scratch, self.context.fio.path, path, size_bytes, timeout_s=timeout_s
                ),
            )
            if self._laid_out_bytes != size_bytes:
                self._allocation = "the run's shared working-set file (laid out by the host's fio, sequentially)"
                self._laid_out_bytes = size_bytes
                self._facts = None
            return
        if self._laid_out_bytes == size_bytes and self.disk.exists():
            return
        self._laid_out_bytes = None
        try:
            self._allocation = allocate(self.disk, self.disk_bytes(size_bytes))
            if self.variant.in_guest_fs:
                self._layout_in_guest(size_bytes, timeout_s)
            else:
                self._layout_on_host(size_bytes, timeout_s)
        except BaseException:
            self.disk.unlink(missing_ok=True)
            raise
        self._laid_out_bytes = size_bytes
        self._facts = None

    def _layout_on_host(self, size_bytes: int, timeout_s: float) -> None:
        job = render_layout_job(filename=str(self.disk), size_bytes=size_bytes)
        fio_run = run_fio_in(self.scratch, self.context.fio.path, job, timeout_s=timeout_s)
        if fio_run.exit_code != 0:
            raise ToolError(
                f"laying out the disk image {self.disk} failed:\n"
                + describe_failure(fio_run.argv, fio_run.exit_code, fio_run.stderr)
            )

    def _layout_in_guest(self, size_bytes: int, timeout_s: float) -> None:
        path = self.working_set_path(size_bytes)
        with MicroVMInstance(self, scratch=self.scratch, ledger=self._live, purpose="layout") as instance:
            instance.mkfs()
            instance.mount()
            fio_run = instance.run_fio(render_layout_job(filename=path, size_bytes=size_bytes), timeout_s=timeout_s)
            if fio_run.exit_code != 0:
                raise ToolError(
                    f"laying out {path} in the {self.vmm_label} guest failed (fio exit code {fio_run.exit_code}): "
                    f"{fio_run.stderr.strip()[-1000:]}"
                )

    def working_set_facts(self, size_bytes: int) -> Mapping[str, str]:
        if not self.disk.exists():
            return {}
        users = self.context.working_sets.users() if self.shares_working_set else ()
        return working_set_facts(self.disk, users)

    # --- facts -----------------------------------------------------------------------------
    def facts(self) -> Mapping[str, str]:
        if self._facts is None:
            facts = {
                "kind": self.kind,
                "variant": self.scheme.name(self.variant) or "default",
                "guest_target": (
                    "file on ext4 made in the guest" if self.variant.in_guest_fs else f"raw {self.drive_model()} disk"
                ),
                "guest_kernel": self.image.kernel_version,
                "guest_image": self.image.content_hash[:12],
                "guest_memory_mib": str(self.config.memory_mib),
                "guest_memory_bytes": str(self.config.memory_mib * MIB),  # the guest page cache's bound
                "guest_vcpus": str(self.config.vcpus),
                "fio_version": self.context.fio.version,
                "fio_path": f"{GUEST_FIO_PATH} in the guest (copy of {self.context.fio.path})",
                "fio_sha256": self.image.fio_sha256,
                "disk_image": str(self.disk),
                "disk_image_format": "raw",
                **storage_facts(self.scratch if self.scratch.exists() else self.context.target),
            }
            if self._allocation:
                facts["disk_image_allocation"] = self._allocation
            if self.variant.in_guest_fs:
                facts["guest_fs"] = "ext4 (mke2fs -m 0, lazy init off)"
                facts["fs_type_inside"] = "ext4"
            host_lbs = facts.get("logical_block_size")
            guest_lbs = self.guest_logical_block_size()
            if guest_lbs is not None:
                if host_lbs:
                    facts["host_logical_block_size"] = host_lbs
                facts["logical_block_size"] = str(guest_lbs)
            facts.update(self.vmm_facts())
            self._facts = facts
        return self._facts

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        return (
            CacheLayer("guest page cache", self.config.memory_mib * MIB, bypassed=direct),
            CacheLayer("host page cache", psutil.virtual_memory().total, bypassed=self.host_cache_bypassed()),
        )
