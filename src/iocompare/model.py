"""Frozen objects that travel along the data flow: cells, trials and fio results.

Units are part of every field name. Dictionaries only exist at the edges (TOML, fio JSON, SQLite).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from iocompare.units import short_size


class Pattern(str, enum.Enum):
    """Access patterns. `fsync-probe` is the QD1 4 KiB write with fdatasync=1 that shows
    whether flushes reach the device (METHODOLOGY.md, artifact check 6)."""

    SEQ_READ = "seq-read"
    SEQ_WRITE = "seq-write"
    RAND_READ = "rand-read"
    RAND_WRITE = "rand-write"
    MIXED_RAND = "mixed-rand"
    MIXED_SEQ = "mixed-seq"
    FSYNC_PROBE = "fsync-probe"
    # Network patterns (docs/network.md): the cell's size is the message size, the load iperf3 or
    # sockperf; the result's throughput is stored on the read side, where a network cell has it.
    TCP_STREAM = "tcp-stream"
    UDP_STREAM = "udp-stream"
    TCP_RR = "tcp-rr"

    @property
    def fio_rw(self) -> str:
        return _FIO_RW[self]

    @property
    def network(self) -> bool:
        return self in (Pattern.TCP_STREAM, Pattern.UDP_STREAM, Pattern.TCP_RR)

    @property
    def reads(self) -> bool:
        return self in (Pattern.SEQ_READ, Pattern.RAND_READ, Pattern.MIXED_RAND, Pattern.MIXED_SEQ) or self.network

    @property
    def writes(self) -> bool:
        return self not in (Pattern.SEQ_READ, Pattern.RAND_READ) and not self.network

    @property
    def mixed(self) -> bool:
        return self in (Pattern.MIXED_RAND, Pattern.MIXED_SEQ)


_FIO_RW = {
    Pattern.SEQ_READ: "read",
    Pattern.SEQ_WRITE: "write",
    Pattern.RAND_READ: "randread",
    Pattern.RAND_WRITE: "randwrite",
    Pattern.MIXED_RAND: "randrw",
    Pattern.MIXED_SEQ: "rw",
    Pattern.FSYNC_PROBE: "write",
}
STORAGE_PATTERNS = tuple(p for p in Pattern if not p.network)  # the ones fio runs


class TrialStatus(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"  # fio or the environment failed; error text kept
    NOT_APPLICABLE = "not-applicable"  # e.g. 512 B direct IO on a 4096 B logical block device
    REFUSED = "refused"  # the methodology forbids the cell here (working set too small)


@dataclass(frozen=True)
class Cell:
    """One point of the matrix: a named workload at one block size, identical in every environment."""

    workload: str
    pattern: Pattern
    block_size_bytes: int
    iodepth: int
    numjobs: int
    read_percent: int | None
    ioengine: str
    direct: bool
    runtime_s: int
    ramp_s: int
    working_set_bytes: int

    @property
    def key(self) -> str:
        return f"{self.workload}@{short_size(self.block_size_bytes)}"

    @property
    def seconds(self) -> int:
        return self.runtime_s + self.ramp_s


@dataclass(frozen=True)
class SteadyState:
    """End a trial once its bandwidth is steady; the cell's runtime is then the maximum.

    fio's `bw_slope` rule: the least-squares slope of the last `window_s` per-second bandwidths,
    as a share of their mean, is below `slope_percent` per second (fio's steadystate.c).
    """

    window_s: int
    slope_percent: float

    @staticmethod
    def start_s(ramp_s: int) -> int:
        """Seconds after the ramp's end before fio takes its first rate (its `ss_ramp`, counted
        from the clock fio restarts there): at least the ramp, see engines/fio_job.py."""
        return max(1, ramp_s)


@dataclass(frozen=True)
class Trial:
    """One fresh environment instance running one fio job for one cell."""

    index: int
    round: int
    cell: Cell
    environment: str
    seed: int


@dataclass(frozen=True)
class Percentiles:
    p50_ns: float | None = None
    p99_ns: float | None = None
    p999_ns: float | None = None


@dataclass(frozen=True)
class DirectionResult:
    """Read or write side of one fio result, summed over jobs (and clients)."""

    io_bytes: int
    bw_bps: float
    iops: float
    runtime_ms: int
    total_ios: int
    short_ios: int
    drop_ios: int
    lat_mean_ns: float | None
    lat_min_ns: float | None
    lat_max_ns: float | None
    lat: Percentiles  # total latency (submission + completion), from merged histogram bins
    clat: Percentiles  # completion latency, from merged histogram bins


@dataclass(frozen=True)
class SteadyStateOutcome:
    """fio's steady-state rule in one trial: whether it held before the maximum runtime."""

    attained: bool
    criterion: str  # fio's last value of the rule, e.g. "0.84%" (bandwidth slope per second)
    limit: str  # the rule as asked, e.g. "bw_slope:2%"

    def describe(self) -> str:
        if self.attained:
            return f"attained ({self.limit}; slope {self.criterion} per second)"
        return f"not attained within the maximum runtime ({self.limit}; last slope {self.criterion} per second)"


@dataclass(frozen=True)
class FioResult:
    """What iocompare keeps from one fio run, parsed from its json/json+ output."""

    fio_version: str
    read: DirectionResult | None
    write: DirectionResult | None
    sync: Percentiles | None  # fdatasync latency, when the job syncs
    cpu_usr_pct: float
    cpu_sys_pct: float
    error: int
    job_count: int
    problems: tuple[str, ...] = field(default=())  # human-readable run-sanity findings
    # Only when the job asked for it; not stored (the trial's `steady_state` fact is).
    steady_state: SteadyStateOutcome | None = None

    @property
    def total_iops(self) -> float:
        return sum(d.iops for d in (self.read, self.write) if d is not None)

    @property
    def total_bw_bps(self) -> float:
        return sum(d.bw_bps for d in (self.read, self.write) if d is not None)


@dataclass(frozen=True)
class FioRun:
    """The raw outcome of running fio once in an environment."""

    argv: tuple[str, ...]
    exit_code: int | None  # None: not known (an imported fio output)
    output_json: str
    stderr: str
    wall_s: float


@dataclass(frozen=True)
class Sample:
    """One monitor sample taken during a trial (host-side view)."""

    t_s: float  # seconds since the trial's fio started
    host_cpu_pct: float  # all CPUs, 0..100
    proc_cpu_pct: float | None  # CPU of the monitored processes (fio, VMM, container), 100 = one core
    disk_read_bytes: int  # cumulative since the trial started, target's device
    disk_write_bytes: int
    free_bytes: int  # free space on the target filesystem
