"""QEMU's `microvm` machine: the test disk a virtio-blk (virtio-mmio) device backed by a raw image
on the target filesystem, or with `drive=scsi` an scsi-hd disk behind a virtio-scsi (virtio-mmio)
host adapter (the guest sees /dev/sda instead of /dev/vda; the control disk stays virtio-blk).

Acceleration: KVM where a probe boot reaches the guest's ready marker, software emulation (TCG)
otherwise; the decision is recorded, and TCG numbers carry a timing caveat on every trial.
Drive options are variants (microvm_options): `cache=none` (O_DIRECT on the host, the default)
or `cache=writeback` (through the host page cache); `aio=io_uring` (default), `native` (Linux
AIO, needs O_DIRECT) or `threads`; `drive=blk` (virtio-blk, the default) or `scsi` (virtio-scsi).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from iocompare.environments.base import RunContext
from iocompare.environments.microvm.environment import MicroVMEnvironment
from iocompare.environments.microvm.guest_init import CONTROL_SERIAL, TARGET_SERIAL
from iocompare.environments.microvm.options import DriveOption, Variant, VariantScheme
from iocompare.environments.microvm.session import GuestSession, create_control_disk
from iocompare.errors import UserError
from iocompare.facts.probe import storage_facts
from iocompare.system.proc import run

BINARY_ENV = "IOCOMPARE_QEMU_BINARY"
ACCEL_ENV = "IOCOMPARE_QEMU_ACCEL"  # auto (probe), kvm or tcg
DEFAULT_BINARY = "qemu-system-x86_64"
KVM_DEVICE = "/dev/kvm"
PROBE_TIMEOUT_S = 20
KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet"
TCG_CLOCK_OPTION = "tsc=reliable"
TCG_CLOCK_REASON = (
    "tsc=reliable on the guest kernel command line: under TCG the guest's TSC sync check fails and "
    "it would fall back to refined-jiffies (a 4 ms latency grid)"
)
TCG_CAVEAT = "software emulation (TCG): timings do not represent a KVM host"
# Seen on hosts whose KVM cannot run the guest (nested "kvm-pvm"): QEMU stays alive, paused.
_KVM_FAILURES = ("KVM internal error", "kvm: ", "failed to initialize kvm", "Could not access KVM")


def _native_needs_direct(variant: Variant) -> str | None:
    if variant.get("aio") == "native" and variant.get("cache") != "none":
        return "aio=native needs cache=none (QEMU requires O_DIRECT for Linux AIO)"
    return None


SCHEME = VariantScheme(
    kind="qemu",
    options=(
        DriveOption(
            "cache",
            ("none", "writeback"),
            {"none": "O_DIRECT, host page cache bypassed", "writeback": "host page cache in the path"},
        ),
        DriveOption("aio", ("io_uring", "native", "threads"), {"native": "Linux AIO", "threads": "thread pool"}),
        DriveOption("drive", ("blk", "scsi"), {"blk": "virtio-blk", "scsi": "virtio-scsi, scsi-hd disk"}),
    ),
    conflict=_native_needs_direct,
)


DRIVE_MODELS = {"blk": "virtio-blk", "scsi": "virtio-scsi"}  # variant value -> the drive_model fact


def qemu_escape(value: str) -> str:
    """QEMU's option syntax splits on ',': a literal comma is written twice."""
    return value.replace(",", ",,")


@dataclass(frozen=True)
class QemuCommand:
    """Everything that goes into one QEMU command line (a pure function of this; unit-tested)."""

    binary: str
    accelerator: str  # "kvm" | "tcg"
    memory_mib: int
    vcpus: int
    kernel: Path
    initrd: Path
    target: Path
    control: Path
    cache: str
    aio: str
    logical_block_size: int | None
    name: str
    tsc_khz: int | None = None
    drive_model: str = "virtio-blk"  # or "virtio-scsi"

    @property
    def kernel_cmdline(self) -> str:
        if self.accelerator != "tcg":
            return KERNEL_CMDLINE  # KVM: kvm-clock
        # Under TCG the guest reads the host's TSC, but its boot-time check of the vCPUs' TSCs
        # (emulated vCPUs are host threads, descheduled at will) fails: "Marking TSC unstable due
        # to TSCs unsynchronized", and with no HPET or ACPI PM timer on microvm the kernel falls
        # back to refined-jiffies, a 4 ms grid for every latency. The host's TSC is synchronised
        # (the host itself runs on it), so the guest is told it is reliable.
        cmdline = f"{KERNEL_CMDLINE} {TCG_CLOCK_OPTION}"
        if self.tsc_khz:
            # Told its frequency, the kernel skips the PIT calibration, which fails now and then
            # when an emulated vCPU is descheduled; with no HPET the boot then hangs (~1 in 10 here).
            cmdline += f" tsc_early_khz={self.tsc_khz}"
        return cmdline

    def target_devices(self) -> list[str]:
        """The `-device` arguments of the test disk (and its SCSI host adapter)."""
        if self.drive_model == "virtio-scsi":
            # microvm has no PCI: the adapter is the virtio-mmio flavour; one scsi-hd on its bus.
            adapter = ["-device", "virtio-scsi-device,id=scsi0"]
            disk = f"scsi-hd,bus=scsi0.0,drive=target,serial={TARGET_SERIAL}"
        elif self.drive_model == "virtio-blk":
            adapter, disk = [], f"virtio-blk-device,drive=target,serial={TARGET_SERIAL}"
        else:
            raise ValueError(f"unknown drive model {self.drive_model!r}")
        if self.logical_block_size:
            # The guest sees the host device's logical block size: 512 B direct IO is then "not
            # applicable" exactly where it is on the host, instead of QEMU emulating it with
            # read-modify-write bounces under cache=none.
            size = self.logical_block_size
            disk += f",logical_block_size={size},physical_block_size={size}"
        return [*adapter, "-device", disk]

    def argv(self) -> list[str]:
        return [
            self.binary,
            "-name",
            f"{self.name},debug-threads=on",  # names vCPU threads "CPU n/TCG" for the CPU facts
            "-M",
            "microvm,acpi=on",  # ACPI: the Debian kernel finds virtio-mmio devices only this way
            "-accel",
            self.accelerator,
            "-cpu",
            "host" if self.accelerator == "kvm" else "max",
            "-m",
            str(self.memory_mib),
            "-smp",
            str(self.vcpus),
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-no-reboot",
            "-chardev",
            "stdio,id=console,signal=off",
            "-serial",
            "chardev:console",
            "-kernel",
            str(self.kernel),
            "-initrd",
            str(self.initrd),
            "-append",
            self.kernel_cmdline,
            "-drive",
            (
                f"id=target,file={qemu_escape(str(self.target))},format=raw,if=none,"
                f"cache={self.cache},aio={self.aio},discard=ignore,detect-zeroes=off"
            ),
            *self.target_devices(),
            "-drive",
            f"id=control,file={qemu_escape(str(self.control))},format=raw,if=none,cache=writethrough,aio=threads",
            "-device",
            f"virtio-blk-device,drive=control,serial={CONTROL_SERIAL}",
        ]


def host_tsc_khz(cpuinfo: str | None = None) -> int | None:
    """The host CPU's clock in kHz as /proc/cpuinfo reports it (the TSC rate on constant_tsc CPUs)."""
    try:
        text = cpuinfo if cpuinfo is not None else Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    if "constant_tsc" not in flags.split():
        return None
    for line in text.splitlines():
        if line.startswith("cpu MHz"):
            try:
                return round(float(line.split(":", 1)[1]) * 1000)
            except ValueError:
                return None
    return None


def qemu_binary() -> str:
    return os.environ.get(BINARY_ENV) or DEFAULT_BINARY


@functools.cache
def qemu_version(binary: str) -> str:
    return run([binary, "--version"], timeout_s=30).stdout.splitlines()[0].strip()


@dataclass(frozen=True)
class AccelDecision:
    accelerator: str
    reason: str


_ACCEL_CACHE: dict[tuple[str, str], AccelDecision] = {}


def decide_accelerator(binary: str, kernel: Path, initrd: Path, scratch: Path) -> AccelDecision:
    """KVM if a probe boot reaches the guest's ready marker within PROBE_TIMEOUT_S, else TCG.
    Probed once per process and QEMU/kernel pair."""
    forced = (os.environ.get(ACCEL_ENV) or "auto").strip().lower()
    if forced in ("kvm", "tcg"):
        return AccelDecision(forced, f"set by {ACCEL_ENV}")
    if forced != "auto":
        raise UserError(f"{ACCEL_ENV}={forced!r} is not supported: use auto, kvm or tcg")
    if not os.access(KVM_DEVICE, os.R_OK | os.W_OK):
        return AccelDecision("tcg", f"{KVM_DEVICE} is missing or not accessible")
    key = (os.path.realpath(shutil.which(binary) or binary), str(kernel))
    if key not in _ACCEL_CACHE:
        _ACCEL_CACHE[key] = _probe_kvm(binary, kernel, initrd, scratch)
    return _ACCEL_CACHE[key]


def _probe_kvm(binary: str, kernel: Path, initrd: Path, scratch: Path) -> AccelDecision:
    work = Path(tempfile.mkdtemp(prefix="kvm-probe-", dir=scratch))
    session = None
    try:
        target, control = work / "target.img", work / "control.img"
        create_control_disk(target)
        create_control_disk(control)
        command = QemuCommand(
            binary, "kvm", 512, 1, kernel, initrd, target, control, "writeback", "threads", None, "iocompare-kvm-probe"
        )
        session = GuestSession(command.argv(), console_log=work / "console.log", label="qemu (KVM probe)")
        session.start()
        try:
            session.wait_for(
                "ready", timeout_s=PROBE_TIMEOUT_S, what="", fail_if=lambda err: any(s in err for s in _KVM_FAILURES)
            )
        except Exception as exc:
            first = next((line for line in str(exc).splitlines()[1:] if line.strip()), str(exc).splitlines()[0])
            return AccelDecision("tcg", f"KVM probe boot failed: {first.strip()[:200]}")
        return AccelDecision("kvm", "KVM probe boot reached the guest")
    finally:
        if session is not None:
            session.kill()
        shutil.rmtree(work, ignore_errors=True)


class QemuEnvironment(MicroVMEnvironment):
    kind = "qemu"
    description = "QEMU microvm guest"
    scheme = SCHEME
    env_prefix = "QEMU"
    vmm_label = "qemu"

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        self.binary = qemu_binary()
        self.accel: AccelDecision | None = None

    @classmethod
    def vmm_unavailable_reason(cls) -> str | None:
        binary = qemu_binary()
        if shutil.which(binary) is None:
            return f"{binary} not found (apt-get install qemu-system-x86, or set {BINARY_ENV})"
        return None

    def prepare_vmm(self) -> None:
        self.accel = decide_accelerator(self.binary, self.image.vmlinuz, self.image.initramfs, self.scratch)
        self._facts = None

    def command(self, directory: Path, control: Path) -> QemuCommand:
        accelerator = self.accel.accelerator if self.accel else "tcg"
        return QemuCommand(
            binary=self.binary,
            accelerator=accelerator,
            memory_mib=self.config.memory_mib,
            vcpus=self.config.vcpus,
            kernel=self.image.vmlinuz,
            initrd=self.image.initramfs,
            target=self.disk,
            control=control,
            cache=self.variant.get("cache"),
            aio=self.variant.get("aio"),
            logical_block_size=self.guest_logical_block_size(),
            name=f"iocompare-{self.context.run_tag}-{directory.name}",
            tsc_khz=host_tsc_khz(),
            drive_model=self.drive_model(),
        )

    def vmm_argv(self, directory: Path, control: Path) -> list[str]:
        return self.command(directory, control).argv()

    def drive_model(self) -> str:
        return DRIVE_MODELS[self.variant.get("drive")]

    def is_vcpu_thread(self, name: str) -> bool:
        return name.startswith("CPU ")  # "CPU 0/TCG", "CPU 1/KVM"

    def host_cache_bypassed(self) -> bool:
        return self.variant.get("cache") == "none"

    def guest_logical_block_size(self) -> int | None:
        value = storage_facts(self.scratch if self.scratch.exists() else self.context.target).get(
            "logical_block_size", ""
        )
        return int(value) if value.isdigit() and int(value) >= 512 else None

    def vmm_facts(self) -> dict[str, str]:
        facts = {
            "vmm": "qemu",
            "vmm_version": qemu_version(self.binary),
            "vmm_path": shutil.which(self.binary) or self.binary,
            "machine": "microvm,acpi=on",
            "guest_kernel_cmdline": self.command(self.scratch, self.scratch / "control.img").kernel_cmdline,
            "drive_model": self.drive_model(),
            "drive_interface": f"{self.drive_model()} (virtio-mmio)",
            "drive_cache": self.variant.get("cache"),
            "drive_aio": self.variant.get("aio"),
            "host_page_cache_in_path": "no" if self.host_cache_bypassed() else "yes",
            "flushes_reach_host": "yes (guest flushes become fdatasync on the image)",
        }
        if self.accel is not None:
            facts["accelerator"] = self.accel.accelerator
            facts["accelerator_reason"] = self.accel.reason
            if self.accel.accelerator == "tcg":
                facts["timing_caveat"] = TCG_CAVEAT
                facts["clocksource_chosen_by"] = TCG_CLOCK_REASON
        return facts
