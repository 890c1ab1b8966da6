"""Overhead: the quick suite on the host, total wall time against the sum of fio's ramp + runtime.

Target: at most 1.03x, the median of `--runs` runs (default 3). Everything iocompare adds counts:
start-up, fio version check, laying out the working set, dropping caches, monitor, storing, the
final report. Also printed: the wall time of the fio processes themselves (fio's own start-up and
exit beyond ramp + runtime, which iocompare does not control) and the harness alone, the wall time
outside those processes.

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/overhead.py [--runs 3] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _common import iocompare
from iocompare.store import Store

TARGET = 1.03


def one_run(suite: str, target: Path, work: Path, index: int) -> tuple[float, float, float, int]:
    """(wall s, fio ramp + runtime s, fio processes' wall s, trials) of one `iocompare run`."""
    db = work / f"overhead-{index}.db"
    started = time.monotonic()
    iocompare("run", "--suite", suite, "--target", str(target), "--db", str(db))
    wall_s = time.monotonic() - started
    with Store.open(db) as store:
        run = store.load_run(store.resolve_run("latest"))
    fio_s = sum(t.trial.cell.seconds for t in run.trials)
    fio_wall_s = sum(t.wall_s or 0.0 for t in run.trials)
    return wall_s, fio_s, fio_wall_s, len(run.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-overhead-"))
    try:
        ratios, fio_ratios, harness_s = [], [], []
        for index in range(args.runs):
            wall_s, fio_s, fio_wall_s, trials = one_run(args.suite, args.target, work, index)
            ratios.append(wall_s / fio_s)
            fio_ratios.append(fio_wall_s / fio_s)
            harness_s.append(wall_s - fio_wall_s)
            print(
                f"  run {index + 1}: {trials} trials, wall {wall_s:.1f} s, fio ramp+runtime {fio_s:.0f} s, "
                f"ratio {wall_s / fio_s:.3f}; fio processes {fio_wall_s:.1f} s ({fio_wall_s / fio_s:.3f}), "
                f"harness outside fio {wall_s - fio_wall_s:.1f} s",
                flush=True,
            )
        ratio = statistics.median(ratios)
        print(
            f"overhead: suite {args.suite}, median of {args.runs} runs: ratio {ratio:.3f} "
            f"({'within' if ratio <= TARGET else 'ABOVE'} the {TARGET:.2f} target); "
            f"fio's own processes {statistics.median(fio_ratios):.3f}, "
            f"harness outside fio {statistics.median(harness_s):.1f} s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
