"""One network trial: a fresh server inside the path, the client on the host, the output parsed
and kept raw, CPU of both sampled. The runner hands every cell with a network pattern here.

The client always runs on the host (iperf3's `-R` makes the environment the sender for
"from-env"), so the JSON is read where it is stored and the same host binary times every path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from iocompare.engines import iperf3, sockperf
from iocompare.engines.net_result import from_iperf3, from_sockperf
from iocompare.environments.base import Environment
from iocompare.environments.net.base import NetEnvironment
from iocompare.errors import IocompareError
from iocompare.execute.settle import IdleClock
from iocompare.model import Cell, FioResult, FioRun, Pattern, Sample, Trial, TrialStatus
from iocompare.monitor import Monitor
from iocompare.spec.network import Direction, direction_of
from iocompare.system.proc import run
from iocompare.units import format_size

TIMEOUT_SLACK_S = 60


@dataclass(frozen=True)
class NetOutcome:
    """The runner's TrialOutcome fields, in its order."""

    status: TrialStatus
    reason: str | None
    result: FioResult | None
    raw: FioRun | None
    facts: dict[str, str]
    samples: tuple[Sample, ...]


def not_applicable(cell: Cell) -> str | None:
    """Why a load generator cannot run this cell as asked (never adjusted), else None."""
    size = cell.block_size_bytes
    if cell.pattern is Pattern.TCP_RR and size > sockperf.MAX_MESSAGE_BYTES:
        return f"sockperf 3.7 sends at most {sockperf.MAX_MESSAGE_BYTES} B per message, not {format_size(size)}"
    udp = cell.pattern is Pattern.UDP_STREAM
    unit = "datagram" if udp else "write"
    if size > iperf3.max_message_bytes(udp):
        return f"iperf3 3.12 sends at most {iperf3.max_message_bytes(udp)} B per {unit}, not {format_size(size)}"
    return None


def measure_network(
    trial: Trial, environment: Environment, idle: IdleClock, on_sample: Callable[[Sample], None]
) -> NetOutcome:
    cell = trial.cell
    if not isinstance(environment, NetEnvironment):
        reason = f"{trial.environment} is a storage environment; {cell.pattern.value} needs a network path"
        return NetOutcome(TrialStatus.NOT_APPLICABLE, reason, None, None, {}, ())
    facts = dict(environment.facts())
    refusal = not_applicable(cell)
    if refusal is not None:
        return NetOutcome(TrialStatus.NOT_APPLICABLE, refusal, None, None, facts, ())
    load = "sockperf" if cell.pattern is Pattern.TCP_RR else "iperf3"
    # Each tool its own port: iperf3 closes first, leaving its port in TIME_WAIT on the server side.
    port = environment.port + (1 if load == "sockperf" else 0)
    client_pid: list[int] = []
    try:
        idle.startup_begins()
        with environment.instance() as instance:
            server_argv = _server_argv(load, environment.binary_in_environment(load), instance.address, port)
            instance.start_server(load, server_argv)
            facts["net_server_argv"] = " ".join(server_argv)
            facts.update(idle.wait())
            client = _client_argv(cell, load, environment.loads[load].path, instance.address, port)
            facts["net_client_argv"] = " ".join(client)
            with Monitor(
                path=environment.host_storage_path,
                device=None,
                pids=lambda: (*instance.pids_to_monitor(), *client_pid),
                on_sample=on_sample,
            ) as monitor:
                try:
                    done = run(
                        client,
                        timeout_s=cell.seconds * 3 + TIMEOUT_SLACK_S,
                        check=False,
                        on_start=client_pid.append,
                    )
                finally:
                    idle.io_ended()
            server_output = instance.stop_server()
        samples = tuple(monitor.samples)
    except IocompareError as exc:
        return NetOutcome(TrialStatus.FAILED, exc.one_line(), None, None, facts, ())
    raw = FioRun(tuple(client), done.exit_code, done.stdout, done.stderr + server_output[-4000:], done.wall_s)
    try:
        result = _parse(cell, load, done.stdout, facts)
    except IocompareError as exc:
        reason = f"{load} exited with {done.exit_code}; {exc.one_line()}; stderr: {done.stderr.strip()[-300:]}"
        return NetOutcome(TrialStatus.FAILED, reason, None, raw, facts, samples)
    if done.exit_code != 0:
        return NetOutcome(TrialStatus.FAILED, f"{load} exited with {done.exit_code}", result, raw, facts, samples)
    return NetOutcome(TrialStatus.OK, None, result, raw, facts, samples)


def _server_argv(load: str, binary: str, address: str, port: int) -> list[str]:
    if load == "iperf3":
        # --forceflush: its ready line, unbuffered. --idle-timeout: a server orphaned by a SIGKILL
        # between its start and its registration exits by itself (the longest settle is 600 s).
        return [*iperf3.server_argv(binary, address, port), "--forceflush", "--idle-timeout", "660"]
    return sockperf.server_argv(binary, address, port)


def _client_argv(cell: Cell, load: str, binary: str, address: str, port: int) -> list[str]:
    if load == "sockperf":
        # sockperf warms up by itself (400 ms, left out of its statistics); the ramp is idle time.
        return sockperf.client_argv(binary, sockperf.SockperfSpec(address, port, cell.block_size_bytes, cell.runtime_s))
    spec = iperf3.Iperf3Spec(
        address=address,
        port=port,
        udp=cell.pattern is Pattern.UDP_STREAM,
        message_bytes=cell.block_size_bytes,
        streams=cell.numjobs,
        reverse=direction_of(cell) is Direction.FROM_ENV,
        duration_s=cell.runtime_s,
        omit_s=cell.ramp_s,
    )
    return iperf3.client_argv(binary, spec)


def _parse(cell: Cell, load: str, stdout: str, facts: dict[str, str]) -> FioResult:
    if load == "sockperf":
        ping = sockperf.parse_sockperf(stdout)
        facts["net_dropped_messages"] = str(ping.dropped)
        return from_sockperf(ping, cell.block_size_bytes)
    stream = iperf3.parse_iperf3(stdout)
    facts["net_direction"] = direction_of(cell).value
    facts["net_interval_bps"] = json.dumps([round(v) for v in stream.interval_bps])
    if stream.retransmits is not None:
        facts["net_retransmits"] = str(stream.retransmits)
    if stream.lost_percent is not None:
        facts["net_lost_percent"] = f"{stream.lost_percent:.3f}"
    if stream.sender_cpu_pct is not None and stream.receiver_cpu_pct is not None:
        facts["net_sender_cpu_pct"] = f"{stream.sender_cpu_pct:.1f}"
        facts["net_receiver_cpu_pct"] = f"{stream.receiver_cpu_pct:.1f}"
    if stream.congestion:
        facts["net_congestion"] = stream.congestion
    return from_iperf3(stream)
