"""iperf3 and sockperf results in the store's shape: a network trial is a `FioResult` whose read
side carries what arrived (bytes/s, messages/s) and, for ping-pong, the round-trip percentiles,
so statistics, verdicts, curves and reports read network cells as they read storage cells."""

from __future__ import annotations

from iocompare.engines.iperf3 import Iperf3Result
from iocompare.engines.sockperf import SockperfResult
from iocompare.model import DirectionResult, FioResult, Percentiles

_NO_LATENCY = Percentiles()


def from_iperf3(result: Iperf3Result, problems: tuple[str, ...] = ()) -> FioResult:
    bytes_per_s = result.received_bps / 8
    messages = result.bytes_received // max(1, result.message_bytes)
    side = DirectionResult(
        io_bytes=result.bytes_received,
        bw_bps=bytes_per_s,
        iops=bytes_per_s / max(1, result.message_bytes),
        runtime_ms=round(result.seconds * 1000),
        total_ios=messages,
        short_ios=0,
        drop_ios=0,
        lat_mean_ns=None,
        lat_min_ns=None,
        lat_max_ns=None,
        lat=_NO_LATENCY,
        clat=_NO_LATENCY,
    )
    return FioResult(
        fio_version=f"iperf3-{result.version}",
        read=side,
        write=None,
        sync=None,
        cpu_usr_pct=0.0,  # iperf3 reports total CPU only; kept as the trial's net_*_cpu facts
        cpu_sys_pct=0.0,
        error=0,
        job_count=result.streams,
        problems=problems,
    )


def from_sockperf(result: SockperfResult, message_bytes: int, problems: tuple[str, ...] = ()) -> FioResult:
    rate = result.received / result.seconds  # round trips per second
    percentiles = Percentiles(
        p50_ns=_ns(result.percentile_us(50.0)),
        p99_ns=_ns(result.percentile_us(99.0)),
        p999_ns=_ns(result.percentile_us(99.9)),
    )
    side = DirectionResult(
        io_bytes=result.received * message_bytes,
        bw_bps=rate * message_bytes,
        iops=rate,
        runtime_ms=round(result.seconds * 1000),
        total_ios=result.received,
        short_ios=0,
        drop_ios=result.dropped,
        lat_mean_ns=result.rtt_mean_us * 1000,
        lat_min_ns=result.rtt_min_us * 1000,
        lat_max_ns=result.rtt_max_us * 1000,
        lat=percentiles,
        clat=percentiles,
    )
    return FioResult(
        fio_version=f"sockperf-{result.version}",
        read=side,
        write=None,
        sync=None,
        cpu_usr_pct=0.0,
        cpu_sys_pct=0.0,
        error=0,
        job_count=1,
        problems=problems,
    )


def _ns(value_us: float | None) -> float | None:
    return None if value_us is None else value_us * 1000
