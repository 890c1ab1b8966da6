"""The checks of a network cell: when a network number cannot be true or is not comparable.

- faster-than-loopback: no path through a veth, bridge, container or VMM can beat the host's own
  loopback for the same message size (median throughput above 1.1x loopback's);
- retransmits: TCP retransmitted more than 1 segment in 100 (estimated at a 1448 B MSS), so
  the number says as much about loss and recovery as about the path;
- unsteady-stream: in most trials the per-second throughput after the ramp wandered (coefficient
  of variation above 20 %): the stream did not reach a steady rate;
- cpu-bound-sender: the iperf3 sender (single-threaded in 3.12) used at least 90 % of one core
  in most trials: the sender's CPU, not the path, set the rate;
- software-emulation: the guest's CPU is emulated (TCG): its network numbers are not a KVM host's.
A check needs its facts; without them it says "not evaluated: <what is missing>", never passed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from iocompare.analysis.artifacts import (
    CellEvidence,
    CheckId,
    CheckResult,
    CheckStatus,
    check_software_emulation,
)
from iocompare.model import Pattern, TrialStatus
from iocompare.store.records import StoredTrial
from iocompare.units import format_rate

LOOPBACK = "loopback"
HOST_CPU_KINDS = ("loopback", "netns", "podman-net", "docker-net")


@dataclass(frozen=True)
class NetThresholds:
    faster_than_loopback: float = 1.1
    retransmit_share: float = 0.01
    mss_bytes: int = 1448
    unsteady_cv: float = 0.20
    cpu_bound_pct: float = 90.0
    majority: float = 0.5


def _result(check: CheckId, status: CheckStatus, label: str, text: str, **evidence: float | int | str) -> CheckResult:
    return CheckResult(check, status, label, text, evidence)


def _ok(trials: Sequence[StoredTrial]) -> list[StoredTrial]:
    return [t for t in trials if t.status is TrialStatus.OK and t.result is not None]


def _median_bw(trials: Sequence[StoredTrial]) -> float | None:
    values = [t.result.total_bw_bps for t in _ok(trials) if t.result is not None]
    return statistics.median(values) if values else None


def check_faster_than_loopback(
    env: str, trials: Sequence[StoredTrial], loopback: Sequence[StoredTrial] | None, th: NetThresholds
) -> CheckResult:
    c = CheckId.FASTER_THAN_LOOPBACK
    if env == LOOPBACK:
        return _result(c, CheckStatus.NOT_APPLICABLE, "not applicable", "not applicable: this is the loopback ceiling")
    mine, ceiling = _median_bw(trials), _median_bw(loopback or ())
    if ceiling is None:
        return _result(c, CheckStatus.NOT_EVALUATED, "not evaluated", "not evaluated: no loopback result for this cell")
    if mine is None:
        return _result(c, CheckStatus.NOT_EVALUATED, "not evaluated", "not evaluated: no successful trial")
    ratio = mine / ceiling
    evidence = {"ratio": round(ratio, 3), "loopback_bps": ceiling, "median_bps": mine}
    if ratio > th.faster_than_loopback:
        text = f"{format_rate(mine)} is {ratio:.2f}x loopback's {format_rate(ceiling)}: not a path through more layers"
        return _result(c, CheckStatus.FIRED, "faster than loopback", text, **evidence)
    return _result(c, CheckStatus.PASSED, "not faster than loopback", f"{ratio:.2f}x loopback", **evidence)


def _fact_numbers(trials: Sequence[StoredTrial], key: str) -> list[float]:
    values = []
    for t in _ok(trials):
        try:
            values.append(float(t.facts[key]))
        except (KeyError, ValueError):
            continue
    return values


def check_retransmits(pattern: Pattern, trials: Sequence[StoredTrial], th: NetThresholds) -> CheckResult:
    c = CheckId.RETRANSMITS
    if pattern is not Pattern.TCP_STREAM:
        return _result(
            c, CheckStatus.NOT_APPLICABLE, "not applicable", "not applicable: iperf3 counts retransmits of TCP streams"
        )
    shares = []
    for t in _ok(trials):
        if "net_retransmits" not in t.facts or t.result is None or t.result.read is None:
            continue
        segments = max(1.0, t.result.read.io_bytes / th.mss_bytes)
        shares.append(float(t.facts["net_retransmits"]) / segments)
    if not shares:
        return _result(c, CheckStatus.NOT_EVALUATED, "not evaluated", "not evaluated: no retransmit count recorded")
    share = statistics.median(shares)
    evidence = {"retransmit_share": share, "threshold": th.retransmit_share}
    if share > th.retransmit_share:
        text = f"{share:.2%} of segments retransmitted (median): loss and recovery shaped this number"
        return _result(c, CheckStatus.FIRED, "retransmits", text, **evidence)
    return _result(c, CheckStatus.PASSED, "few retransmits", f"{share:.3%} of segments retransmitted", **evidence)


def check_unsteady(pattern: Pattern, trials: Sequence[StoredTrial], th: NetThresholds) -> CheckResult:
    c = CheckId.UNSTEADY_STREAM
    if pattern is Pattern.TCP_RR:
        return _result(c, CheckStatus.NOT_APPLICABLE, "not applicable", "not applicable: a ping-pong is not a stream")
    cvs = []
    for t in _ok(trials):
        try:
            rates = [float(v) for v in json.loads(t.facts.get("net_interval_bps", "[]"))]
        except (ValueError, TypeError):
            continue
        if len(rates) >= 2 and statistics.mean(rates) > 0:
            cvs.append(statistics.pstdev(rates) / statistics.mean(rates))
    if not cvs:
        return _result(
            c, CheckStatus.NOT_EVALUATED, "not evaluated", "not evaluated: fewer than 2 per-second rates a trial"
        )
    unsteady = sum(cv > th.unsteady_cv for cv in cvs)
    evidence = {"unsteady_trials": unsteady, "trials": len(cvs), "median_cv": statistics.median(cvs)}
    if unsteady > th.majority * len(cvs):
        text = f"{unsteady} of {len(cvs)} trials' per-second throughput varied by more than {th.unsteady_cv:.0%}"
        return _result(c, CheckStatus.FIRED, "no steady throughput", text, **evidence)
    return _result(c, CheckStatus.PASSED, "steady throughput", f"{unsteady} of {len(cvs)} trials unsteady", **evidence)


def check_cpu_bound(pattern: Pattern, trials: Sequence[StoredTrial], th: NetThresholds) -> CheckResult:
    c = CheckId.CPU_BOUND_SENDER
    if pattern is Pattern.TCP_RR:
        return _result(c, CheckStatus.NOT_APPLICABLE, "not applicable", "not applicable: sockperf reports no CPU")
    cpu = _fact_numbers(trials, "net_sender_cpu_pct")
    if not cpu:
        return _result(
            c, CheckStatus.NOT_EVALUATED, "not evaluated", "not evaluated: the sender's CPU was not recorded"
        )
    bound = sum(v >= th.cpu_bound_pct for v in cpu)
    evidence = {"bound_trials": bound, "trials": len(cpu), "median_sender_cpu_pct": statistics.median(cpu)}
    if bound > th.majority * len(cpu):
        text = (
            f"the sender used {statistics.median(cpu):.0f}% of one core (median): its CPU, not the path, set the rate"
        )
        return _result(c, CheckStatus.FIRED, "CPU-bound sender", text, **evidence)
    return _result(
        c, CheckStatus.PASSED, "sender not CPU-bound", f"sender CPU {statistics.median(cpu):.0f}%", **evidence
    )


def network_checks(
    ev: CellEvidence,
    trials: Sequence[StoredTrial],
    loopback: Sequence[StoredTrial] | None,
    th: NetThresholds = NetThresholds(),
) -> tuple[CheckResult, ...]:
    pattern = ev.cell.pattern
    if ev.kind in HOST_CPU_KINDS:
        emulation = _result(
            CheckId.SOFTWARE_EMULATION, CheckStatus.NOT_APPLICABLE, "not applicable",
            f"not applicable: a {ev.kind} path runs on the host CPU",
        )  # fmt: skip
    else:
        emulation = check_software_emulation(ev)
    return (
        check_faster_than_loopback(ev.environment, trials, loopback, th),
        check_retransmits(pattern, trials, th),
        check_unsteady(pattern, trials, th),
        check_cpu_bound(pattern, trials, th),
        emulation,
    )
