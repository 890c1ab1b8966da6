"""Issue 14's fidelity figure: iocompare's TCP throughput against a hand-run iperf3 on the same
path, for 4 KiB, 64 KiB and 1 MiB messages, alternated in one run (target ratio 0.95-1.05).

The path is a veth namespace made by iocompare's own `netns` environment (registered in a run
manifest, removed at the end). Per size and round, one iocompare trial (the runner's network
measurement: a fresh server in the namespace, the host's client, the JSON parsed and kept) and one
hand-run `iperf3 -c ... -J` against a hand-started `iperf3 -s -1` in the same namespace take turns,
their order rotating each round, so drift hits both alike. Printed per size: both medians and the
ratio of medians (iocompare / hand-run) with the per-round ratios. Run under the shared IO lock:

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/net_fidelity.py [--rounds 5] [--runtime 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from iocompare.engines.fio_binary import find_fio
from iocompare.environments.base import RunContext
from iocompare.environments.net.netns import NetnsEnvironment
from iocompare.execute.netmeasure import measure_network
from iocompare.execute.settle import IdleClock
from iocompare.model import Cell, Pattern, Trial, TrialStatus
from iocompare.system.resources import RunResources
from iocompare.units import format_rate, format_size

SIZES = (4 << 10, 64 << 10, 1 << 20)


def cell_for(size: int, runtime_s: int, ramp_s: int) -> Cell:
    return Cell("tcp", Pattern.TCP_STREAM, size, 1, 1, None, "iperf3/to-env", False, runtime_s, ramp_s, 0)


def by_hand(env: NetnsEnvironment, size: int, runtime_s: int, ramp_s: int) -> float:
    """What a person would type: a one-off server in the namespace, the client on the host."""
    address, port = env.server_address, env.port + 2  # a port of its own, never in TIME_WAIT from the other
    server = subprocess.Popen(
        ["ip", "netns", "exec", env.netns, "iperf3", "-s", "-1", "-B", address, "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)  # the hand-run way to wait for a server
        argv = ["iperf3", "-c", address, "-p", str(port), "-J", "-t", str(runtime_s), "-O", str(ramp_s)]
        done = subprocess.run([*argv, "-l", str(size)], capture_output=True, text=True, timeout=120, check=True)
        return float(json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"]) / 8
    finally:
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runtime", type=int, default=2)
    parser.add_argument("--ramp", type=int, default=1)
    args = parser.parse_args()
    run_tag = f"bn{int(time.time()) % 100000:05d}"
    with tempfile.TemporaryDirectory(prefix="net-fidelity-") as work:
        resources = RunResources(run_tag, description="benchmark net_fidelity")
        context = RunContext(target=Path(work), run_tag=run_tag, fio=find_fio(), resources=resources)
        idle = IdleClock(0.0)
        measured: dict[int, dict[str, list[float]]] = {size: {"iocompare": [], "hand": []} for size in SIZES}
        try:
            with NetnsEnvironment("netns", context) as env:
                for round_index in range(args.rounds):
                    for size in SIZES:
                        cell = cell_for(size, args.runtime, args.ramp)
                        order = ("iocompare", "hand") if round_index % 2 == 0 else ("hand", "iocompare")
                        for who in order:
                            if who == "hand":
                                measured[size]["hand"].append(by_hand(env, size, args.runtime, args.ramp))
                                continue
                            trial = Trial(round_index, round_index, cell, "netns", 1)
                            outcome = measure_network(trial, env, idle, lambda _sample: None)
                            if outcome.status is not TrialStatus.OK or outcome.result is None:
                                raise SystemExit(f"iocompare trial failed: {outcome.reason}")
                            measured[size]["iocompare"].append(outcome.result.total_bw_bps)
        finally:
            resources.remove_all()
    print(f"netns veth path, TCP to the namespace, {args.rounds} alternated rounds of {args.ramp} s + {args.runtime} s")
    print(f"{'message':>8}  {'iocompare':>14}  {'hand-run':>14}  {'ratio':>6}  per-round ratios")
    for size in SIZES:
        ours, theirs = measured[size]["iocompare"], measured[size]["hand"]
        ratio = statistics.median(ours) / statistics.median(theirs)
        rounds = " ".join(f"{a / b:.2f}" for a, b in zip(ours, theirs, strict=True))
        print(
            f"{format_size(size):>8}  {format_rate(statistics.median(ours)):>14}  "
            f"{format_rate(statistics.median(theirs)):>14}  {ratio:6.3f}  {rounds}"
        )


if __name__ == "__main__":
    main()
