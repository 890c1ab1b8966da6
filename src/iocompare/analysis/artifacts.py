"""Artifact checks 1-8 (METHODOLOGY.md): a fired check flags a result, it never fixes it.

Each check has a stable identifier, a status (fired, passed, not evaluated, not applicable to
this cell), the numbers it looked at and one line for the user. A check passes only on recorded
facts and measured numbers: when a fact or reference it needs is missing it says "not evaluated:
<what is missing>", never "passed". Inputs, thresholds and why: docs/statistics.md.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from iocompare.facts import judge
from iocompare.facts import registry as fk
from iocompare.model import Cell, DirectionResult, FioResult, Pattern, TrialStatus
from iocompare.units import format_ns, format_rate, format_size


class CheckId(str, enum.Enum):
    MEMORY_FILESYSTEM = "memory-filesystem"
    WORKING_SET = "working-set-vs-cache"
    FASTER_THAN_HOST = "faster-than-host"
    LATENCY_FLOOR = "below-device-latency-floor"
    BYTE_ACCOUNTING = "byte-accounting"
    FLUSH = "flush-not-honoured"
    RUN_SANITY = "run-sanity"
    SOFTWARE_EMULATION = "software-emulation"
    COARSE_CLOCK = "coarse-clock"  # analysis/clock.py
    BURST_CREDIT = "burst-credit"  # analysis/burst.py
    # Network cells (analysis/netchecks.py)
    FASTER_THAN_LOOPBACK = "faster-than-loopback"
    RETRANSMITS = "retransmits"
    UNSTEADY_STREAM = "unsteady-stream"
    CPU_BOUND_SENDER = "cpu-bound-sender"


NETWORK_CHECKS = frozenset(
    {CheckId.FASTER_THAN_LOOPBACK, CheckId.RETRANSMITS, CheckId.UNSTEADY_STREAM, CheckId.CPU_BOUND_SENDER}
)


class CheckStatus(str, enum.Enum):
    FIRED = "fired"
    PASSED = "passed"
    NOT_EVALUATED = "not evaluated"  # its reference or its input is missing
    NOT_APPLICABLE = "not applicable"  # meaningless for this cell or environment


@dataclass(frozen=True)
class CheckResult:
    check: CheckId
    status: CheckStatus
    label: str  # short, for verdicts and headlines: "faster than the host"
    explanation: str  # one line a user understands
    evidence: Mapping[str, float | int | str] = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.status is CheckStatus.FIRED


@dataclass(frozen=True)
class TrialEvidence:
    trial_id: int
    status: TrialStatus
    reason: str | None
    result: FioResult | None
    device_read_bytes: int | None = None  # target device, whole monitored trial (ramp included)
    device_write_bytes: int | None = None
    fio_exit_code: int | None = None  # None: not known (imported output)
    device_read_requests: int | None = None  # fio's own disk_util (imports): requests incl. merges
    device_write_requests: int | None = None
    steady_state: str | None = None  # the trial's `steady_state` fact; None when not asked for


@dataclass(frozen=True)
class CellEvidence:
    cell: Cell
    environment: str
    kind: str  # "host", "container", "qemu", ...
    facts: Mapping[str, str]  # environment facts overlaid with the trials' facts
    trials: tuple[TrialEvidence, ...]

    @property
    def ok(self) -> list[FioResult]:
        return [t.result for t in self.trials if t.status is TrialStatus.OK and t.result is not None]

    def median(self, value: Callable[[FioResult], float | None]) -> float | None:
        values = [v for v in (value(r) for r in self.ok) if v is not None]
        return statistics.median(values) if values else None


@dataclass(frozen=True)
class References:
    """What the checks compare against, from the host (reference) environment of the same run."""

    is_reference: bool = False  # this environment is the host reference itself
    host_cell: CellEvidence | None = None  # the same cell on the host
    qd1_read_latency_ns: float | None = None  # host 4 KiB random read QD1, median clat p50
    host_flush_latency_ns: float | None = None  # host fsync probe, median fdatasync p50
    env_flush_latency_ns: float | None = None  # this environment's own fsync probe
    host_memory_bytes: int | None = None
    reference_facts: Mapping[str, str] = field(default_factory=dict)  # the reference environment's facts
    reference_name: str = "the host"


@dataclass(frozen=True)
class Thresholds:
    cache_multiple: float = 2.0  # working set >= 2x every cache layer that is not bypassed
    faster_than_host: float = 1.1
    latency_floor_share: float = 0.5  # median clat below half the host's QD1 p50: memory
    read_share: float = 0.5  # device read bytes / fio read bytes
    write_share: float = 0.9  # device write bytes / fio write bytes (writes end with end_fsync)
    flush_share: float = 0.5  # fdatasync p50 below half the host's: flushes not honoured
    min_ios: int = 100  # fewer IOs than this cannot carry a p99
    # Steady state not attained within the maximum runtime in more than this share of a cell's
    # trials: the cell drifts. A single noisy trial that ran to its maximum is not a finding.
    unsteady_share: float = 0.5


def read_clat_p50(r: FioResult) -> float | None:
    return r.read.clat.p50_ns if r.read is not None else None


def sync_p50(r: FioResult) -> float | None:
    return r.sync.p50_ns if r.sync is not None else None


def _result(
    check: CheckId, status: CheckStatus, label: str, explanation: str, **evidence: float | int | str
) -> CheckResult:
    return CheckResult(check, status, label, explanation, evidence)


def _not_evaluated(check: CheckId, why: str) -> CheckResult:
    return _result(check, CheckStatus.NOT_EVALUATED, "not evaluated", f"not evaluated: {why}")


def _not_applicable(check: CheckId, why: str) -> CheckResult:
    return _result(check, CheckStatus.NOT_APPLICABLE, "not applicable", f"not applicable: {why}")


# Facts that say which storage an environment measured; a comparison with the reference is only
# meaningful ("on the same storage") when both sides recorded one.
STORAGE_FACTS = (fk.TARGET_PATH, fk.DEVICE, fk.TARGET_DEVICE, fk.DISK_IMAGE, fk.MOUNT_SOURCE)
# Kinds whose fio runs on the host's own kernel: the host page cache is in the path exactly when
# the IO is buffered (or O_DIRECT is not honoured, which memory-filesystem reports).
HOST_KERNEL_KINDS = frozenset({"host", "container", "docker", "podman"})


def _storage_missing(ev: CellEvidence, refs: References) -> str | None:
    """Why the two sides cannot be taken to measure the same storage, or None."""
    sides = [(ev.environment, ev.facts)] + ([] if refs.is_reference else [(refs.reference_name, refs.reference_facts)])
    missing = [name for name, facts in sides if not any(k.get(facts) for k in STORAGE_FACTS)]
    if not missing:
        return None
    return f"the storage path of {' and '.join(missing)} was not recorded (target_path or device)"


def check_memory_filesystem(ev: CellEvidence) -> CheckResult:
    c, f = CheckId.MEMORY_FILESYSTEM, ev.facts
    memory, direct = judge.memory_backed(f), judge.direct_io_honoured(f)
    if memory is None and direct is None:
        return _not_evaluated(c, "the target's filesystem type was not recorded (fs_type)")
    types = judge.filesystem_types(f)
    shown = ", ".join(types) or "unknown"
    if memory:
        return _result(
            c,
            CheckStatus.FIRED,
            f"memory filesystem ({shown})",
            f"the target is on {shown}: these numbers measure RAM, not a disk",
            fs_type=shown,
        )
    if direct is False:
        return _result(
            c,
            CheckStatus.FIRED,
            f"O_DIRECT not honoured ({shown})",
            f"{shown} silently drops O_DIRECT: the page cache is in the path",
            fs_type=shown,
        )
    if not types:
        return _not_evaluated(c, "the target's filesystem type was not recorded (fs_type)")
    return _result(c, CheckStatus.PASSED, "disk filesystem", f"the target is on {shown}", fs_type=shown)


def check_working_set(ev: CellEvidence, refs: References, th: Thresholds) -> CheckResult:
    c, f, ws = CheckId.WORKING_SET, ev.facts, ev.cell.working_set_bytes
    if f.get("working_set_warning"):
        return _result(
            c, CheckStatus.FIRED, "working set fits in a cache", f["working_set_warning"], working_set_bytes=ws
        )
    in_path = judge.host_page_cache_in_path(f)
    honoured = judge.direct_io_honoured(f)
    if in_path is None and ev.kind in HOST_KERNEL_KINDS and honoured is not None:
        # fio on the host kernel: the page cache is bypassed by O_DIRECT, where the filesystem honours it
        in_path = not (ev.cell.direct and honoured)
    if in_path is None:
        return _not_evaluated(
            c, "whether the host page cache is in the path was not recorded (host_page_cache_in_path)"
        )
    if ws <= 0:
        return _not_evaluated(c, "the working set size was not recorded")
    layers: list[tuple[str, str, int | None]] = []  # (label, layer, RAM bytes)
    if in_path and not (ev.kind in HOST_KERNEL_KINDS and not ev.cell.direct):
        layers.append(("host page cache in path", "host page cache", refs.host_memory_bytes))
    if not ev.cell.direct:
        guest = fk.GUEST_MEMORY_BYTES.get(f)
        layers.append(("page cache in path", "page cache", guest if guest is not None else refs.host_memory_bytes))
    for label, layer, ram in layers:
        if ram is not None and ws < th.cache_multiple * ram:
            return _result(
                c,
                CheckStatus.FIRED,
                label,
                f"the {format_size(ws)} working set is smaller than {th.cache_multiple:g}x the {layer} "
                f"({format_size(ram)}) that is not bypassed",
                working_set_bytes=ws,
                cache_bytes=ram,
            )
    for _, layer, ram in layers:
        if ram is None:
            return _not_evaluated(c, f"the size of the {layer} in the path is unknown (memory_bytes)")
    detail = "; ".join(f"{layer} {format_size(ram or 0)}" for _, layer, ram in layers) or "no cache layer in the path"
    return _result(
        c,
        CheckStatus.PASSED,
        "working set large enough",
        f"working set {format_size(ws)}; {detail}",
        working_set_bytes=ws,
    )


def check_faster_than_host(ev: CellEvidence, refs: References, th: Thresholds) -> CheckResult:
    c = CheckId.FASTER_THAN_HOST
    if refs.is_reference:
        return _not_applicable(c, f"this environment is the reference ({refs.reference_name})")
    if ev.kind == "host":
        return _not_applicable(c, "this environment is the host itself (an A/A twin)")
    mine = ev.median(lambda r: r.total_bw_bps)
    host = refs.host_cell.median(lambda r: r.total_bw_bps) if refs.host_cell else None
    if not host or mine is None:
        return _not_evaluated(c, f"no reference: {refs.reference_name} has no successful trial of this cell")
    ratio = mine / host
    slowest = min(r.total_bw_bps for r in ev.ok)
    evidence = {"median_bw_bps": mine, "host_median_bw_bps": host, "ratio": ratio, "slowest_bw_bps": slowest}
    # Noise alone must not fire it: even the environment's slowest trial beats the host's median.
    if ratio > th.faster_than_host and slowest > host:
        return _result(
            c,
            CheckStatus.FIRED,
            "faster than the host",
            f"{format_rate(mine)} is {ratio:.2f}x {refs.reference_name}'s {format_rate(host)} on the same storage: "
            "a cache?",
            **evidence,
        )
    missing = _storage_missing(ev, refs)
    if missing:
        return _not_evaluated(c, f"{missing}; {ratio:.2f}x {refs.reference_name}'s throughput")
    return _result(
        c,
        CheckStatus.PASSED,
        "not faster than the host",
        f"{ratio:.2f}x {refs.reference_name}'s throughput",
        **evidence,
    )


def check_latency_floor(ev: CellEvidence, refs: References, th: Thresholds) -> CheckResult:
    c = CheckId.LATENCY_FLOOR
    # Sequential reads may legitimately beat random QD1 latency: the device's own read-ahead.
    if ev.cell.pattern not in (Pattern.RAND_READ, Pattern.MIXED_RAND):
        return _not_applicable(c, "only random reads are compared with the device's QD1 read latency")
    if refs.qd1_read_latency_ns is None:
        return _not_evaluated(c, "no reference: the run has no host 4 KiB random read QD1 cell")
    mine = ev.median(read_clat_p50)
    if mine is None:
        return _not_evaluated(c, "no read completion latency in this cell")
    floor = refs.qd1_read_latency_ns
    evidence = {"median_clat_p50_ns": mine, "host_qd1_clat_p50_ns": floor}
    if mine < th.latency_floor_share * floor:
        return _result(
            c,
            CheckStatus.FIRED,
            "below the device's latency floor",
            f"median read latency {format_ns(mine)} is below the host device's QD1 latency {format_ns(floor)}: "
            "served from memory",
            **evidence,
        )
    missing = _storage_missing(ev, refs)
    if missing:
        return _not_evaluated(c, f"{missing}; median read latency {format_ns(mine)}, reference QD1 {format_ns(floor)}")
    return _result(
        c,
        CheckStatus.PASSED,
        "above the device's latency floor",
        f"median read latency {format_ns(mine)}, host QD1 {format_ns(floor)}",
        **evidence,
    )


def check_byte_accounting(ev: CellEvidence, th: Thresholds) -> CheckResult:
    """Device bytes over the whole monitored trial (ramp included) against fio's io_bytes (ramp
    excluded): the share is an upper bound of what reached the device, so a fire is certain.
    Without monitor samples (imports), fio's own disk_util request counts against fio's IOs, for
    O_DIRECT cells only: each direct IO is at least one request, while buffered reads are merged
    by read-ahead into fewer, larger ones."""
    c = CheckId.BYTE_ACCOUNTING
    ok = [t for t in ev.trials if t.status is TrialStatus.OK and t.result is not None]
    shares: dict[str, list[float]] = {"read": [], "write": []}
    if fk.DEVICE.get(ev.facts):  # without a device the monitor has no counters: its zeros mean nothing
        shares = _shares(ok, lambda t: (t.device_read_bytes, t.device_write_bytes), lambda d: d.io_bytes)
    unit = "bytes"
    if not shares["read"] and not shares["write"]:
        counted = _shares(ok, lambda t: (t.device_read_requests, t.device_write_requests), lambda d: d.total_ios)
        if counted["read"] or counted["write"]:
            if not ev.cell.direct:
                return _not_evaluated(
                    c, "only fio's request counts are recorded, and buffered IO is merged by read-ahead"
                )
            shares, unit = counted, "IOs"
    if not shares["read"] and not shares["write"]:
        if not fk.DEVICE.get(ev.facts):
            return _not_evaluated(c, "no block device counters for the target (no device fact, no monitor samples)")
        return _not_evaluated(c, "no monitor samples or disk_util counts for this cell's trials")
    evidence: dict[str, float | int | str] = {"counted": unit}
    fired = []
    for side, limit in (("read", th.read_share), ("write", th.write_share)):
        if shares[side]:
            share = statistics.median(shares[side])
            evidence[f"{side}_share"] = share
            if share < limit:
                fired.append(f"the device saw {share:.0%} of fio's {side} {unit} (expected >= {limit:.0%})")
    if fired:
        return _result(
            c, CheckStatus.FIRED, "a cache absorbed the IO", "; ".join(fired) + ": a cache absorbed the IO", **evidence
        )
    return _result(
        c,
        CheckStatus.PASSED,
        f"{unit} reached the device",
        ", ".join(f"{k.split('_')[0]}s {v:.0%}" for k, v in evidence.items() if k.endswith("_share"))
        + f" of fio's {unit} reached the device",
        **evidence,
    )


def _shares(
    trials: Sequence[TrialEvidence],
    device: Callable[[TrialEvidence], tuple[int | None, int | None]],
    fio: Callable[[DirectionResult], int],
) -> dict[str, list[float]]:
    """Per side, device count / fio count of every trial that has both."""
    out: dict[str, list[float]] = {"read": [], "write": []}
    for t in trials:
        assert t.result is not None
        for side, seen in zip(("read", "write"), device(t), strict=True):
            d = getattr(t.result, side)
            if d is not None and fio(d) > 0 and seen is not None:
                out[side].append(seen / fio(d))
    return out


def check_flush(ev: CellEvidence, refs: References, th: Thresholds) -> CheckResult:
    c = CheckId.FLUSH
    if not ev.cell.pattern.writes:
        return _not_applicable(c, "the cell does not write")
    if refs.is_reference:
        return _not_applicable(c, f"this environment is the reference ({refs.reference_name})")
    if refs.host_flush_latency_ns is None:
        return _not_evaluated(c, "no reference: the run has no host fsync probe")
    if refs.env_flush_latency_ns is None:
        return _not_evaluated(c, "this environment has no fsync probe result")
    mine, host = refs.env_flush_latency_ns, refs.host_flush_latency_ns
    evidence = {"fdatasync_p50_ns": mine, "host_fdatasync_p50_ns": host}
    if mine < th.flush_share * host:
        return _result(
            c,
            CheckStatus.FIRED,
            "flushes not honoured",
            f"fdatasync takes {format_ns(mine)} against the host device's {format_ns(host)}: "
            "flushes do not reach the disk",
            **evidence,
        )
    missing = _storage_missing(ev, refs)
    if missing:
        return _not_evaluated(c, f"{missing}; fdatasync {format_ns(mine)}, reference {format_ns(host)}")
    return _result(
        c, CheckStatus.PASSED, "flushes honoured", f"fdatasync {format_ns(mine)}, host {format_ns(host)}", **evidence
    )


def check_run_sanity(ev: CellEvidence, th: Thresholds) -> CheckResult:
    c = CheckId.RUN_SANITY
    ran = [t for t in ev.trials if t.status in (TrialStatus.OK, TrialStatus.FAILED)]
    if not ran:
        return _not_evaluated(c, "no trial ran")
    problems: list[str] = []
    bad: set[int] = set()
    for t in ran:
        found = []
        if t.status is TrialStatus.FAILED:
            found.append(f"trial failed: {t.reason or 'no reason recorded'}")
        if t.result is not None:
            found += list(t.result.problems)
            if t.result.error:
                found.append(f"fio error {t.result.error}")
            ios = sum(d.total_ios for d in (t.result.read, t.result.write) if d is not None)
            if t.status is TrialStatus.OK and ios < th.min_ios:
                found.append(f"only {ios} IOs completed (fewer than {th.min_ios})")
        if found:
            bad.add(t.trial_id)
        problems += [p for p in found if p not in problems]
    asked = [t for t in ran if t.status is TrialStatus.OK and t.steady_state is not None]
    unsteady = [t for t in asked if not (t.steady_state or "").startswith("attained")]
    if asked and len(unsteady) > th.unsteady_share * len(asked):
        bad.update(t.trial_id for t in unsteady)
        problems.insert(
            0, f"steady state not attained within the maximum runtime in {len(unsteady)} of {len(asked)} trials"
        )
    if bad:
        return _result(
            c,
            CheckStatus.FIRED,
            "run problems",
            f"{len(bad)} of {len(ran)} trials had problems: " + "; ".join(problems[:3]),
            trials_with_problems=len(bad),
            trials=len(ran),
        )
    unknown = sum(t.fio_exit_code is None for t in ran)
    if unknown:
        return _not_evaluated(
            c,
            f"fio's exit status of {unknown} of {len(ran)} trials is not recorded (imported output); "
            "their results show no errors, short or dropped IOs",
        )
    return _result(
        c,
        CheckStatus.PASSED,
        "runs clean",
        f"{len(ran)} trials without fio errors, short or dropped IOs"
        + (f"; steady state attained in {len(asked) - len(unsteady)} of {len(asked)}" if asked else ""),
        trials=len(ran),
    )


def check_software_emulation(ev: CellEvidence) -> CheckResult:
    c, f = CheckId.SOFTWARE_EMULATION, ev.facts
    accel = fk.ACCELERATOR.get(f) or ""
    if judge.software_emulated(f):
        caveat = f.get("timing_caveat") or "QEMU TCG emulates the CPU in software: timings do not represent a KVM host"
        return _result(c, CheckStatus.FIRED, "software emulation (TCG)", caveat, accelerator=accel)
    if accel:
        return _result(
            c, CheckStatus.PASSED, f"hardware virtualisation ({accel})", f"accelerator {accel}", accelerator=accel
        )
    if ev.kind in ("host", "container", "docker", "podman"):
        return _not_applicable(c, f"a {ev.kind} runs on the host CPU")
    return _not_evaluated(c, "the accelerator was not recorded")


def check_cell(ev: CellEvidence, refs: References, th: Thresholds = Thresholds()) -> tuple[CheckResult, ...]:
    """All eight checks for one cell in one environment, in METHODOLOGY.md's order."""
    return (
        check_memory_filesystem(ev),
        check_working_set(ev, refs, th),
        check_faster_than_host(ev, refs, th),
        check_latency_floor(ev, refs, th),
        check_byte_accounting(ev, th),
        check_flush(ev, refs, th),
        check_run_sanity(ev, th),
        check_software_emulation(ev),
    )


def fired_labels(results: Sequence[CheckResult]) -> tuple[str, ...]:
    return tuple(r.label for r in results if r.fired)
