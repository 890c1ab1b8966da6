"""Sanity: 4 KiB random read at QD32 through a bind mount equals the host (a bind mount adds no
IO path). Host and each container engine alternate in every round (5 rounds by default); the
ratio container/host IOPS is printed per round and as the median. Expected 0.95 to 1.05.

    .venv/bin/python benchmarks/container_sanity.py [--rounds 5] [--runtime 10] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

from _common import iocompare, median
from iocompare.environments import registry
from iocompare.store import Store

SUITE = """
name = "container-sanity"
runtime_s = {runtime}
ramp_s = 2
repeat = {rounds}
max_repeat = {rounds}     # exactly this many alternations, no adaptive extension
references = false        # only the cell under test
environments = {environments}

[working_set]
size = "1g"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
iodepth = 32
block_sizes = ["4k"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runtime", type=int, default=10)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    engines = []
    for name in ("podman", "docker"):
        reason = registry.choose(name).unavailable_reason
        if reason is None:
            engines.append(name)
        else:
            print(f"{name}: skipped, {reason}")
    environments = ["host", *engines]
    work = Path(tempfile.mkdtemp(prefix="iocompare-container-sanity-"))
    try:
        suite = work / "suite.toml"
        suite.write_text(SUITE.format(runtime=args.runtime, rounds=args.rounds, environments=environments))
        db = work / "sanity.db"
        iocompare("run", "--suite", str(suite), "--target", str(args.target), "--db", str(db))
        with Store.open(db) as store:
            run = store.load_run(store.resolve_run("latest"))
        iops: dict[tuple[str, int], float] = {}
        order: dict[int, list[str]] = {}
        for stored in sorted(run.trials, key=lambda t: t.trial.index):
            if stored.result is not None:
                iops[(stored.trial.environment, stored.trial.round)] = stored.result.total_iops
                order.setdefault(stored.trial.round, []).append(stored.trial.environment)
        print(
            f"4 KiB random read QD32, {args.runtime} s + 2 s ramp, 1 GiB working set, {len(order)} rounds, "
            f"target {args.target}"
        )
        rounds = sorted(order)  # the runner may add rounds (adaptive stopping)
        hosts = [iops[("host", r)] for r in rounds if ("host", r) in iops]
        if len(hosts) > 1:
            spread = statistics.stdev(hosts) / statistics.mean(hosts)
            print(
                f"  host alone: CV {spread:.1%} over {len(hosts)} rounds (machine noise; "
                "a shared disk makes ratios noisy)"
            )
        for engine in engines:
            ratios = []
            for round_ in rounds:
                host, container = iops.get(("host", round_)), iops.get((engine, round_))
                if host and container:
                    ratios.append(container / host)
                    print(
                        f"  round {round_}: order {' -> '.join(order[round_])}: host {host:,.0f} IOPS, "
                        f"{engine} {container:,.0f} IOPS, ratio {container / host:.3f}"
                    )
            if ratios:
                mid = median(ratios)
                verdict = "within" if 0.95 <= mid <= 1.05 else "OUTSIDE"
                print(
                    f"{engine} (bind mount) / host: median ratio {mid:.3f} ({verdict} 0.95-1.05), "
                    f"all: {', '.join(f'{r:.3f}' for r in ratios)}"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
