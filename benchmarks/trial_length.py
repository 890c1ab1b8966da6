"""Trial length from data: how between-trial CV and within-trial stability depend on ramp and
runtime on this machine, and when a steady-state rule would have ended each trial.

Runs the product's own fio job (engines/fio_job.render_job) on the host for 3 patterns x 3
block sizes, `--trials` trials per cell of `--seconds` seconds each with ramp 0 and a
per-second bandwidth log, cells interleaved round by round and caches dropped before every
trial as the host environment does. Every (ramp, runtime) pair that fits in the logged seconds
is then evaluated on the same trials, so the table compares trial lengths on identical data:

- between-trial CV: the CV over trials of each trial's mean bandwidth in [ramp, ramp + runtime);
- within-trial CV: the CV of the per-second bandwidths inside that window (median over trials);
- steady at: the second at which fio's `bw_slope` rule (least-squares slope of the last
  `window` per-second values, as a share of their mean, at most `--slope` %) first holds after
  the ramp; "never" when it does not within the logged seconds.

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/trial_length.py [--trials 4] [--seconds 14]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from iocompare.engines.fio_job import render_job, render_layout_job
from iocompare.environments.host import drop_host_caches
from iocompare.model import Cell, Pattern

PATTERNS = ((Pattern.RAND_READ, None), (Pattern.SEQ_WRITE, None), (Pattern.MIXED_RAND, 70))
BLOCKS = (4096, 65536, 1 << 20)
RAMPS = (0, 1, 2, 5)
RUNTIMES = (3, 5, 8, 10, 30)


def cells(seconds: int, working_set: int) -> list[Cell]:
    return [
        Cell(
            workload=pattern.value if read is None else f"{pattern.value}-{read}",
            pattern=pattern,
            block_size_bytes=block,
            iodepth=32 if block < 1 << 20 else 16,
            numjobs=1,
            read_percent=read,
            ioengine="libaio",
            direct=True,
            runtime_s=seconds,
            ramp_s=0,
            working_set_bytes=working_set,
        )
        for pattern, read in PATTERNS
        for block in BLOCKS
    ]


def per_second_bw(log_dir: Path) -> np.ndarray:
    """Bytes/s per whole second (reads plus writes) from fio's bw logs (KiB/s, 1 s averages)."""
    by_second: dict[int, float] = defaultdict(float)
    for log in log_dir.glob("*_bw.*.log"):
        for line in log.read_text().splitlines():
            fields = [f.strip() for f in line.split(",")]
            if len(fields) >= 2 and fields[0].isdigit():
                by_second[(int(fields[0]) - 1) // 1000] += float(fields[1]) * 1024
    return np.array([by_second[s] for s in sorted(by_second)])


def run_trial(fio: str, cell: Cell, filename: Path, seed: int, work: Path) -> np.ndarray:
    job = render_job(cell, filename=str(filename), seed=seed)
    job = job.replace("[global]\n", "[global]\nwrite_bw_log=tl\nlog_avg_msec=1000\n", 1)
    trial_dir = Path(tempfile.mkdtemp(dir=work))
    (trial_dir / "job.fio").write_text(job)
    drop_host_caches()
    subprocess.run([fio, "--output=/dev/null", "job.fio"], cwd=trial_dir, check=True, timeout=cell.seconds * 3 + 120)
    series = per_second_bw(trial_dir)
    shutil.rmtree(trial_dir, ignore_errors=True)
    return series


def steady_at(series: np.ndarray, ramp: int, window: int, slope_pct: float) -> int | None:
    """First second (from the trial's start) at which the bw_slope rule holds after `ramp`."""
    x = np.arange(window, dtype=float)
    for end in range(ramp + window, series.size + 1):
        y = series[end - window : end]
        mean = float(y.mean())
        if mean <= 0:
            continue
        slope = float(np.polyfit(x, y, 1)[0])
        if 100 * abs(slope) / mean <= slope_pct:
            return end
    return None


def cv(values: list[float]) -> float:
    return statistics.stdev(values) / statistics.fmean(values) if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=14, help="logged seconds per trial (ramp 0)")
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--window", type=int, default=3, help="steady-state window (fio ss_dur), seconds")
    parser.add_argument("--slope", type=float, default=2.0, help="bw_slope limit, percent of the mean per second")
    parser.add_argument("--fio", default="fio")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-trial-length-", dir=args.target))
    working_set = 1 << 30
    try:
        data_file = work / "working-set.dat"
        (work / "layout.fio").write_text(render_layout_job(filename=str(data_file), size_bytes=working_set))
        subprocess.run([args.fio, "--output=/dev/null", "layout.fio"], cwd=work, check=True, timeout=600)
        series: dict[str, list[np.ndarray]] = defaultdict(list)
        matrix = cells(args.seconds, working_set)
        for round_index in range(args.trials):
            for offset, cell in enumerate(matrix):
                seed = 1 + round_index * 100 + offset
                series[cell.key].append(run_trial(args.fio, cell, data_file, seed, work))
        print(
            f"trial length: host, {len(matrix)} cells x {args.trials} trials x {args.seconds} s logged; "
            f"steady = bw_slope <= {args.slope:g} % over {args.window} s"
        )
        print(f"{'cell':<20} {'ramp':>4} {'run':>4} {'between CV':>10} {'within CV':>9}  steady at (s) per trial")
        summary: dict[tuple[int, int], list[float]] = defaultdict(list)
        for key, trials in series.items():
            for ramp in RAMPS:
                steady = [steady_at(s, ramp, args.window, args.slope) for s in trials]
                for runtime in RUNTIMES:
                    if ramp + runtime > min(s.size for s in trials):
                        continue
                    means = [float(s[ramp : ramp + runtime].mean()) for s in trials]
                    within = statistics.median(cv(list(s[ramp : ramp + runtime])) for s in trials)
                    summary[(ramp, runtime)].append(cv(means))
                    shown = ", ".join("never" if t is None else str(t) for t in steady)
                    print(f"{key:<20} {ramp:>4} {runtime:>4} {cv(means):>10.1%} {within:>9.1%}  {shown}")
        print("median between-trial CV over cells (ramp x runtime):")
        for (ramp, runtime), values in sorted(summary.items()):
            print(f"  ramp {ramp} s + runtime {runtime:>2} s: {statistics.median(values):.1%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
