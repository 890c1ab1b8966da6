"""Overhead: the quick suite on the host, total wall time against what the design itself takes.

The design takes, per trial, the fio process (ramp + runtime plus fio's own start-up and exit,
about 0.35 s here, which any tool running fio pays) and the equal idle before it that the suite
asks for (`settle_s`, execute/settle.py; the cache drop and the storing of the previous trial run
inside it). The harness ratio is the wall time of `iocompare run` over the sum of those two:
everything iocompare adds (start-up, fio version check, working-set layout, monitor, storing that
does not fit in the idle, the final report). Target: at most 1.03, the median of `--runs` runs
(default 3). Also printed: the wall time against ramp + runtime alone and against ramp + runtime
+ idle, so nothing is hidden by the choice of denominator.

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


def one_run(suite: str, target: Path, work: Path, index: int) -> tuple[float, float, float, float, int]:
    """(wall s, fio ramp + runtime s, fio processes' wall s, idle s, trials) of one `iocompare run`."""
    db = work / f"overhead-{index}.db"
    started = time.monotonic()
    iocompare("run", "--suite", suite, "--target", str(target), "--db", str(db))
    wall_s = time.monotonic() - started
    with Store.open(db) as store:
        run = store.load_run(store.resolve_run("latest"))
    fio_s = sum(t.trial.cell.seconds for t in run.trials)
    fio_wall_s = sum(t.wall_s or 0.0 for t in run.trials)
    idle_s = sum(float(t.facts.get("idle_gap_s", "0")) for t in run.trials)
    return wall_s, fio_s, fio_wall_s, idle_s, len(run.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-overhead-"))
    try:
        ratios, raw_ratios, idle_ratios, harness_s = [], [], [], []
        for index in range(args.runs):
            wall_s, fio_s, fio_wall_s, idle_s, trials = one_run(args.suite, args.target, work, index)
            design_s = fio_wall_s + idle_s
            ratios.append(wall_s / design_s)
            raw_ratios.append(wall_s / fio_s)
            idle_ratios.append(wall_s / (fio_s + idle_s))
            harness_s.append(wall_s - design_s)
            print(
                f"  run {index + 1}: {trials} trials, wall {wall_s:.1f} s; fio processes {fio_wall_s:.1f} s "
                f"(ramp+runtime {fio_s:.0f} s) + equal idle {idle_s:.1f} s = {design_s:.1f} s; "
                f"harness ratio {wall_s / design_s:.3f} ({wall_s - design_s:.1f} s); "
                f"wall / ramp+runtime {wall_s / fio_s:.3f}, wall / (ramp+runtime+idle) {wall_s / (fio_s + idle_s):.3f}",
                flush=True,
            )
        ratio = statistics.median(ratios)
        print(
            f"overhead: suite {args.suite}, median of {args.runs} runs: harness ratio {ratio:.3f} "
            f"({'within' if ratio <= TARGET else 'ABOVE'} the {TARGET:.2f} target), "
            f"{statistics.median(harness_s):.1f} s beyond fio and the idle; "
            f"wall / ramp+runtime {statistics.median(raw_ratios):.3f}, "
            f"wall / (ramp+runtime+idle) {statistics.median(idle_ratios):.3f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
