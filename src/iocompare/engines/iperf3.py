"""iperf3 (Debian 3.12) for TCP and UDP stream throughput: the one client and server command line
of a network trial, and its `-J` JSON parsed into a frozen `Iperf3Result`.

The client always runs on the host and the server in the environment; `-R` makes the server the
sender, so "from the environment" needs no iperf3 client inside it and the JSON is always read on
the host. Every number is checked (finite, non-negative) and any malformed output is one
`LoadOutputError`, never a traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from iocompare.errors import LoadOutputError

# iperf3 3.12 refuses larger buffers (src/iperf.h MAX_BLOCKSIZE; UDP: one datagram).
MAX_TCP_MESSAGE_BYTES = 1 << 20
MAX_UDP_MESSAGE_BYTES = 65507
CONNECT_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Iperf3Spec:
    address: str
    port: int
    udp: bool
    message_bytes: int
    streams: int
    reverse: bool  # the server (in the environment) sends
    duration_s: int
    omit_s: int  # the ramp: iperf3 leaves these first seconds out of its sums


def max_message_bytes(udp: bool) -> int:
    return MAX_UDP_MESSAGE_BYTES if udp else MAX_TCP_MESSAGE_BYTES


def server_argv(binary: str, address: str, port: int) -> list[str]:
    # -1: one test, then exit, so each trial's server is fresh and nothing lingers.
    return [binary, "-s", "-1", "-B", address, "-p", str(port)]


def client_argv(binary: str, spec: Iperf3Spec) -> list[str]:
    argv = [binary, "-c", spec.address, "-p", str(spec.port), "-J", "--connect-timeout", str(CONNECT_TIMEOUT_MS)]
    argv += ["-t", str(spec.duration_s), "-O", str(spec.omit_s), "-l", str(spec.message_bytes), "-P", str(spec.streams)]
    if spec.reverse:
        argv.append("-R")
    if spec.udp:
        argv += ["-u", "-b", "0"]  # unlimited rate: UDP's default (1 Mbit/s) would measure nothing
    return argv


@dataclass(frozen=True)
class Iperf3Result:
    version: str
    protocol: str  # "TCP" | "UDP"
    message_bytes: int
    streams: int
    reverse: bool
    seconds: float  # measured, omitted seconds excluded
    bytes_received: int
    received_bps: float  # bits per second that arrived (UDP: what the receiver got)
    sent_bps: float
    retransmits: int | None  # TCP sender retransmits; None for UDP or when not reported
    lost_percent: float | None  # UDP only
    interval_bps: tuple[float, ...]  # per-second throughput after the omitted seconds
    sender_cpu_pct: float | None  # 100 = one core; iperf3 3.12 is single-threaded
    receiver_cpu_pct: float | None
    congestion: str | None  # the sender's TCP congestion control


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise LoadOutputError(f"iperf3 output: {where} is not a non-negative number: {value!r}")
    return float(value)


def _mapping(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LoadOutputError(f"iperf3 output: {where} is missing or not an object")
    return value


def parse_iperf3(text: str) -> Iperf3Result:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LoadOutputError(f"iperf3 output is not JSON: {str(exc)[:120]}") from None
    data = _mapping(data, "the document")
    if isinstance(data.get("error"), str):
        raise LoadOutputError(f"iperf3 failed: {data['error'][:300]}")
    start = _mapping(data.get("start"), "start")
    end = _mapping(data.get("end"), "end")
    test = _mapping(start.get("test_start"), "start.test_start")
    protocol = test.get("protocol")
    if protocol not in ("TCP", "UDP"):
        raise LoadOutputError(f"iperf3 output: start.test_start.protocol is {protocol!r}, not TCP or UDP")
    version = start.get("version")
    if not isinstance(version, str):
        raise LoadOutputError("iperf3 output: start.version is missing")
    reverse = bool(_number(test.get("reverse", 0), "start.test_start.reverse"))
    received = _mapping(end.get("sum_received"), "end.sum_received")
    sent = _mapping(end.get("sum_sent"), "end.sum_sent")
    seconds = _number(received.get("seconds"), "end.sum_received.seconds")
    if seconds <= 0:
        raise LoadOutputError("iperf3 output: end.sum_received.seconds is 0 (nothing was measured)")
    retransmits = sent.get("retransmits")
    lost = _mapping(end.get("sum"), "end.sum").get("lost_percent") if protocol == "UDP" else None
    cpu = end.get("cpu_utilization_percent")
    host_cpu = remote_cpu = None
    if isinstance(cpu, dict):
        host_cpu = _number(cpu.get("host_total"), "cpu_utilization_percent.host_total")
        remote_cpu = _number(cpu.get("remote_total"), "cpu_utilization_percent.remote_total")
    congestion = end.get("sender_tcp_congestion")
    return Iperf3Result(
        version=version.removeprefix("iperf ").strip(),
        protocol=protocol,
        message_bytes=int(_number(test.get("blksize"), "start.test_start.blksize")),
        streams=int(_number(test.get("num_streams"), "start.test_start.num_streams")),
        reverse=reverse,
        seconds=seconds,
        bytes_received=int(_number(received.get("bytes"), "end.sum_received.bytes")),
        received_bps=_number(received.get("bits_per_second"), "end.sum_received.bits_per_second"),
        sent_bps=_number(sent.get("bits_per_second"), "end.sum_sent.bits_per_second"),
        retransmits=None if retransmits is None else int(_number(retransmits, "end.sum_sent.retransmits")),
        lost_percent=None if lost is None else _number(lost, "end.sum.lost_percent"),
        interval_bps=_intervals(data.get("intervals")),
        # The client is on the host: with -R the sender is the remote end, the server.
        sender_cpu_pct=remote_cpu if reverse else host_cpu,
        receiver_cpu_pct=host_cpu if reverse else remote_cpu,
        congestion=congestion if isinstance(congestion, str) else None,
    )


def _intervals(value: object) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise LoadOutputError("iperf3 output: intervals is not a list")
    rates = []
    for index, interval in enumerate(value):
        total = _mapping(_mapping(interval, f"intervals[{index}]").get("sum"), f"intervals[{index}].sum")
        if total.get("omitted") is True:
            continue  # the ramp
        rates.append(_number(total.get("bits_per_second"), f"intervals[{index}].sum.bits_per_second"))
    return tuple(rates)
