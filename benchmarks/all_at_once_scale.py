"""All at once: the wall time of one cell on N = 1, 2, 4 hosts with `--all-at-once`, as a ratio to N = 1.

The hosts are network namespaces made here, each running `fio --server` on its own 198.19.x
address and its own loop-backed ext4 (tests/integration/fio_servers.py). Rounds interleave the
N values in a shuffled order, so drift hits every N alike. Printed per N: the median wall time of
`iocompare run` and its ratio to N = 1, the median of fio's own client wall time (the trials'
fio processes) and the orchestration's share (wall minus fio), also as a ratio to N = 1: that
share must not grow with N beyond fio's.

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/all_at_once_scale.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, iocompare

sys.path.insert(0, str(ROOT / "tests" / "integration"))
from fio_servers import FioServers

from iocompare.store import Store

SUITE = """
name = "scale"
runtime_s = 2
ramp_s = 0
settle_s = 0
repeat = 3
max_repeat = 3

[working_set]
size = "64m"
min_size = "16m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
iodepth = 8
block_sizes = ["4k"]
"""
COUNTS = (1, 2, 4)


def one_run(servers: FioServers, count: int, suite: Path, db: Path) -> tuple[float, float]:
    """(wall s of `iocompare run`, summed wall s of its fio client processes)."""
    envs = [arg for s in servers.servers[:count] for arg in ("--env", s.env)]
    started = time.monotonic()
    iocompare("run", "--suite", str(suite), *envs, "--all-at-once", "--db", str(db))
    wall_s = time.monotonic() - started
    with Store.open(db) as store:
        run = store.load_run(store.resolve_run("latest"))
    return wall_s, sum(t.wall_s or 0.0 for t in run.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-scale-"))
    suite = work / "scale.toml"
    suite.write_text(SUITE)
    servers = FioServers.start(max(COUNTS), subnet=230, tag="b")
    walls: dict[int, list[float]] = {n: [] for n in COUNTS}
    fios: dict[int, list[float]] = {n: [] for n in COUNTS}
    rng = random.Random(args.seed)
    try:
        for index in range(args.rounds):
            order = list(COUNTS)
            rng.shuffle(order)
            for count in order:
                wall_s, fio_s = one_run(servers, count, suite, work / f"r{index}-n{count}.db")
                walls[count].append(wall_s)
                fios[count].append(fio_s)
                print(f"round {index + 1}: N = {count}: wall {wall_s:.2f} s, fio {fio_s:.2f} s", flush=True)
    finally:
        servers.close()
    base_wall = statistics.median(walls[1])
    base_over = statistics.median(w - f for w, f in zip(walls[1], fios[1], strict=True))
    print(f"\n{args.rounds} rounds, interleaved; one cell, 3 trials of 2 s, medians:")
    print("N  wall s  ratio  fio s  orchestration s  ratio")
    for count in COUNTS:
        wall = statistics.median(walls[count])
        fio = statistics.median(fios[count])
        over = statistics.median(w - f for w, f in zip(walls[count], fios[count], strict=True))
        print(f"{count}  {wall:6.2f}  {wall / base_wall:5.2f}  {fio:5.2f}  {over:15.2f}  {over / base_over:5.2f}")


if __name__ == "__main__":
    main()
