"""Every fact iocompare records, declared once: its type, unit, human label, parser and formatter.

Facts are stored as text (the database and the JSON report keep `dict[str, str]` at the edge);
everything that reads one goes through its key here, so "yes"/"no" spellings, byte counts and
unknown values are interpreted in exactly one place. An absent or unparsable value reads as None:
unknown, never a default. (pyperf's metadata registry is the model: a key knows how to read and
show its own value.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from iocompare.units import format_ns, format_size

T = TypeVar("T")


def _flag(text: str) -> bool:
    if text in ("yes", "1", "true"):
        return True
    if text in ("no", "0", "false"):
        return False
    raise ValueError(f"not a yes/no fact: {text!r}")


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"negative count: {text!r}")
    return value


def _seconds(value: float) -> str:
    return f"{value:.3f} s"


def _size(value: int) -> str:
    return format_size(value)


@dataclass(frozen=True)
class FactKey(Generic[T]):
    name: str  # as stored
    label: str  # as a person reads it in a report
    parse: Callable[[str], T]
    show: Callable[[T], str]
    unit: str = ""

    def get(self, facts: Mapping[str, str]) -> T | None:
        """The typed value, or None when the fact was not recorded or does not parse."""
        text = facts.get(self.name)
        if text is None or text == "":
            return None
        try:
            return self.parse(text)
        except ValueError:
            return None

    def display(self, text: str) -> str:
        """A stored value as a person reads it (the raw text when it does not parse)."""
        try:
            return self.show(self.parse(text))
        except ValueError:
            return text


def text(name: str, label: str) -> FactKey[str]:
    return FactKey(name, label, str, str)


def flag(name: str, label: str) -> FactKey[bool]:
    return FactKey(name, label, _flag, _yes_no)


def size(name: str, label: str) -> FactKey[int]:
    return FactKey(name, label, _count, _size, unit="bytes")


def count(name: str, label: str) -> FactKey[int]:
    return FactKey(name, label, _count, str)


def seconds(name: str, label: str) -> FactKey[float]:
    return FactKey(name, label, float, _seconds, unit="s")


# -- the host ---------------------------------------------------------------------------------
HOSTNAME = text("hostname", "host name")
KERNEL = text("kernel", "kernel")
KERNEL_BUILD = text("kernel_build", "kernel build")
ARCH = text("arch", "architecture")
OS = text("os", "operating system")
CPU_MODEL = text("cpu_model", "CPU model")
CPU_COUNT = count("cpu_count", "CPUs")
MEMORY_BYTES = size("memory_bytes", "memory")
PYTHON = text("python", "Python")
IOCOMPARE = text("iocompare", "iocompare version")
CLOCKSOURCE = text("clocksource", "clock source")  # where fio runs: the host's, or the guest kernel's

# -- clocks (what latency can be measured with) ----------------------------------------------
HOST_CLOCKSOURCE = text("host_clocksource", "host clock source")
CLOCKSOURCES_AVAILABLE = text("clocksources_available", "clock sources available")
CLOCKSOURCE_CHOSEN_BY = text("clocksource_chosen_by", "clock source chosen by")
LATENCY_QUANTISED = flag("latency_quantised", "latency on a coarse clock grid")
LATENCY_RESOLUTION_NS = FactKey("latency_resolution_ns", "latency clock resolution", float, format_ns, "ns")
LATENCY_ZERO_NS_SHARE = FactKey("latency_zero_ns_share", "share of IOs timed at 0 ns", float, lambda v: f"{v:.1%}")

# -- the storage under test -------------------------------------------------------------------
TARGET_PATH = text("target_path", "target path")
FS_TYPE = text("fs_type", "filesystem")
FS_TYPE_INSIDE = text("fs_type_inside", "filesystem seen inside")
MOUNT_KIND = text("mount_kind", "container storage")
MOUNT_POINT = text("mount_point", "mount point")
MOUNT_SOURCE = text("mount_source", "mount source")
MOUNT_OPTIONS = text("mount_options", "mount options")
DEVICE = text("device", "block device")
DEVICE_MODEL = text("device_model", "device model")
DEVICE_VENDOR = text("device_vendor", "device vendor")
LOGICAL_BLOCK_SIZE = size("logical_block_size", "logical block size")
PHYSICAL_BLOCK_SIZE = size("physical_block_size", "physical block size")
ROTATIONAL = flag("rotational", "rotational device")
SCHEDULER = text("scheduler", "IO scheduler")
MEMORY_BACKED = flag("memory_backed", "memory-backed")
DIRECT_IO_HONOURED = flag("direct_io_honoured", "O_DIRECT honoured")
HOST_PAGE_CACHE_IN_PATH = flag("host_page_cache_in_path", "host page cache in the IO path")
HOST_CACHES_DROPPED = text("host_caches_dropped", "host caches dropped")
TARGET_DEVICE = text("target_device", "target block device")
DISK_IMAGE = text("disk_image", "disk image")

# -- what an imported fio output says (engines/fio_import.py) ---------------------------------
JOB_DIRECT = flag("job_direct", "O_DIRECT in the job")
JOB_IOENGINE = text("job_ioengine", "ioengine in the job")
JOB_FSYNC = text("job_fsync", "fsync in the job")
JOB_FDATASYNC = text("job_fdatasync", "fdatasync in the job")
JOB_SYNC = text("job_sync", "sync in the job")
JOB_OPTIONS = text("job_options", "job options echoed by fio")
STEADY_STATE = text("steady_state", "steady state (fio's bw_slope rule)")  # per trial, when the suite asks
PERCENTILE_SOURCE = text("percentile_source", "latency percentiles from")
DISK_UTIL_DEVICE = text("disk_util_device", "device in fio's disk_util")
DISK_READ_REQUESTS = count("disk_read_requests", "device read requests (fio's disk_util)")
DISK_WRITE_REQUESTS = count("disk_write_requests", "device write requests (fio's disk_util)")
IMPORT_SHA256 = text("import_sha256", "imported file's SHA-256")

# -- engines, VMMs and guests -----------------------------------------------------------------
FIO_VERSION = text("fio_version", "fio version")
ACCELERATOR = text("accelerator", "accelerator")
ACCELERATOR_REASON = text("accelerator_reason", "accelerator chosen because")
TIMING_CAVEAT = text("timing_caveat", "timing caveat")
FLUSHES_REACH_HOST = text("flushes_reach_host", "guest flushes reach the host")
VMM = text("vmm", "VMM")
VMM_VERSION = text("vmm_version", "VMM version")
DRIVE_CACHE = text("drive_cache", "drive cache mode")
DRIVE_AIO = text("drive_aio", "drive AIO")
GUEST_MEMORY_BYTES = size("guest_memory_bytes", "guest memory")
CONTAINER_START_S = seconds("container_start_s", "container start")

# -- idle before fio (burst credit) and the shared working set --------------------------------
IDLE_GAP_S = seconds("idle_gap_s", "idle time before fio")
SETTLE_S = seconds("settle_s", "settle time asked")
STARTUP_S = seconds("startup_s", "start-up inside the settle time")
WORKING_SET_FILE = text("working_set_file", "working-set file (host path)")
WORKING_SET_SHARED_WITH = text("working_set_shared_with", "working set shared with")
WORKING_SET_EXTENTS = text("working_set_extents", "working-set extents (filefrag)")
SOURCE = text("source", "source")

KEYS: tuple[FactKey[object], ...] = tuple(value for value in list(globals().values()) if isinstance(value, FactKey))
BY_NAME: dict[str, FactKey[object]] = {key.name: key for key in KEYS}


def label_of(name: str) -> str:
    """The human label of a stored fact name (the name itself for facts the registry does not know)."""
    key = BY_NAME.get(name)
    return key.label if key is not None else name.replace("_", " ")


def display(name: str, value: str) -> str:
    """A stored value with its unit, as a person reads it."""
    key = BY_NAME.get(name)
    return key.display(value) if key is not None else value
