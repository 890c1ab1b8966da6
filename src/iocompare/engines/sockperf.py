"""sockperf (Debian 3.7) ping-pong for round-trip latency by message size: the client and server
command lines of a `tcp-rr` trial and its text summary parsed into a frozen `SockperfResult`.

sockperf has no machine-readable summary; the lines read here are its stable report lines
(`[Valid Duration]`, `avg-rtt`, `percentile`, `<MIN>`/`<MAX>`), with its colour escapes removed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from iocompare.errors import LoadOutputError

# sockperf 3.7's largest message (its MAX_PAYLOAD_SIZE); larger ones end the connection.
MAX_MESSAGE_BYTES = 65506
MIN_MESSAGE_BYTES = 14

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_VERSION = re.compile(r"== version #(\S+) ==")
_VALID = re.compile(r"\[Valid Duration\] RunTime=([0-9.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)")
_AVG = re.compile(r"avg-(?:rtt|latency)=([0-9.]+) \(std-dev=([0-9.]+)\)")
_PERCENTILE = re.compile(r"---> percentile ([0-9.]+) =\s*([0-9.]+)")
_EXTREME = re.compile(r"---> <(MIN|MAX)> observation =\s*([0-9.]+)")
_DROPPED = re.compile(r"# dropped messages = (\d+)")
_ERROR = re.compile(r"sockperf: ERROR: (.*)")


@dataclass(frozen=True)
class SockperfSpec:
    address: str
    port: int
    message_bytes: int
    duration_s: int


def server_argv(binary: str, address: str, port: int) -> list[str]:
    # --uc-reuseaddr: the previous trial's connection in TIME_WAIT must not refuse the next bind.
    return [binary, "server", "--tcp", "-i", address, "-p", str(port), "--uc-reuseaddr"]


def client_argv(binary: str, spec: SockperfSpec) -> list[str]:
    # --full-rtt: report the round trip, not sockperf's default of half of it.
    return [
        binary, "ping-pong", "--tcp", "-i", spec.address, "-p", str(spec.port),
        "-m", str(spec.message_bytes), "-t", str(spec.duration_s), "--full-rtt",
    ]  # fmt: skip


@dataclass(frozen=True)
class SockperfResult:
    version: str
    seconds: float  # the valid duration (warm-up excluded)
    sent: int
    received: int
    dropped: int
    rtt_mean_us: float
    rtt_stddev_us: float
    rtt_min_us: float
    rtt_max_us: float
    percentiles_us: tuple[tuple[float, float], ...]  # (percentile, value), ascending percentile

    def percentile_us(self, wanted: float) -> float | None:
        for percent, value in self.percentiles_us:
            if math.isclose(percent, wanted):
                return value
        return None


def _float(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LoadOutputError(f"sockperf output: {what} is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise LoadOutputError(f"sockperf output: {what} is not a non-negative number: {text!r}")
    return value


def parse_sockperf(text: str) -> SockperfResult:
    clean = _ESCAPE.sub("", text)
    error = _ERROR.search(clean)
    if error:
        raise LoadOutputError(f"sockperf failed: {error.group(1).strip()[:300]}")
    version = _VERSION.search(clean)
    valid = _VALID.search(clean)
    avg = _AVG.search(clean)
    extremes = {name: _float(value, f"<{name}>") for name, value in _EXTREME.findall(clean)}
    if version is None or valid is None or avg is None or set(extremes) != {"MIN", "MAX"}:
        missing = [
            what
            for what, found in (("version", version), ("[Valid Duration]", valid), ("avg-rtt", avg))
            if found is None
        ] or ["<MIN>/<MAX>"]
        raise LoadOutputError(f"sockperf output has no {', '.join(missing)} line (not a ping-pong summary)")
    percentiles = sorted(
        {_float(p, "a percentile"): _float(v, f"percentile {p}") for p, v in _PERCENTILE.findall(clean)}.items()
    )
    if not percentiles or any(not 0 <= p <= 100 for p, _v in percentiles):
        raise LoadOutputError("sockperf output has no percentile lines from 0 to 100")
    seconds = _float(valid.group(1), "RunTime")
    received = int(valid.group(3))
    if seconds <= 0 or received == 0:
        raise LoadOutputError("sockperf output: no message was received in the valid duration")
    dropped = _DROPPED.search(clean)
    return SockperfResult(
        version=version.group(1),
        seconds=seconds,
        sent=int(valid.group(2)),
        received=received,
        dropped=int(dropped.group(1)) if dropped else 0,
        rtt_mean_us=_float(avg.group(1), "avg-rtt"),
        rtt_stddev_us=_float(avg.group(2), "std-dev"),
        rtt_min_us=extremes["MIN"],
        rtt_max_us=extremes["MAX"],
        percentiles_us=tuple(percentiles),
    )
