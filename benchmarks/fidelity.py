"""Fidelity: the same job through iocompare and by hand with the fio CLI must agree.

For each cell (1 MiB sequential write QD16, 4 KiB random read QD32, 4 KiB random write QD32,
4 KiB mixed random 70/30 QD32) iocompare and a hand-written fio command line run alternately
(the order flips every round) on the same target; the ratio iocompare / by-hand is printed per
round and as a median. Target: every median within 0.97 to 1.03.

"The same job by hand" means what a careful engineer types to run that job: the same fio
options on the command line (refill_buffers, norandommap, overwrite, end_fsync, randrepeat=0,
lat_percentiles...), a freshly laid-out file, and `sync; echo 3 > /proc/sys/vm/drop_caches`
before the run, as iocompare does before every trial. With `--plain` the by-hand side is the
bare command line (fio's defaults for everything not named), to show what the methodology's
options themselves change.

    .venv/bin/python benchmarks/fidelity.py [--rounds 5] [--runtime 10] [--ramp 2] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import iocompare, json_report, median

CELLS = [
    # (workload name, pattern, fio rw, block size, iodepth, read percent)
    ("seq-write", "seq-write", "write", "1m", 16, None),
    ("rand-read", "rand-read", "randread", "4k", 32, None),
    ("rand-write", "rand-write", "randwrite", "4k", 32, None),
    ("mixed-rand-70", "mixed-rand", "randrw", "4k", 32, 70),
]
SIZE = "1g"


def suite_text(cell, runtime: int, ramp: int) -> str:
    name, pattern, _rw, bs, depth, read_pct = cell
    lines = [
        f'name = "fidelity-{name}"',
        f"runtime_s = {runtime}",
        f"ramp_s = {ramp}",
        "repeat = 1",
        "max_repeat = 1",
        "[working_set]",
        f'size = "{SIZE}"',
        "[[workloads]]",
        f'name = "{name}"',
        f'pattern = "{pattern}"',
        f'block_sizes = ["{bs}"]',
        f"iodepth = {depth}",
    ]
    if read_pct is not None:
        lines.append(f"read_percent = {read_pct}")
    return "\n".join(lines) + "\n"


def layout(filename: Path) -> None:
    filename.unlink(missing_ok=True)
    subprocess.run(
        [
            "fio",
            "--name=layout",
            f"--filename={filename}",
            f"--size={SIZE}",
            "--rw=write",
            "--bs=1m",
            "--ioengine=psync",
            "--direct=1",
            "--end_fsync=1",
            "--refill_buffers=1",
            "--output-format=terse",
        ],
        check=True,
        capture_output=True,
    )


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def by_hand(cell, runtime: int, ramp: int, filename: Path, plain: bool) -> float:
    """What a user would type: one fio command line, JSON output, total IOPS."""
    _name, _pattern, rw, bs, depth, read_pct = cell
    argv = [
        "fio",
        "--name=byhand",
        f"--filename={filename}",
        f"--size={SIZE}",
        f"--rw={rw}",
        f"--bs={bs}",
        f"--iodepth={depth}",
        "--ioengine=libaio",
        "--direct=1",
        "--time_based",
        f"--runtime={runtime}",
        f"--ramp_time={ramp}",
        "--output-format=json",
    ]
    if read_pct is not None:
        argv.append(f"--rwmixread={read_pct}")
    if rw in ("write", "randwrite", "randrw"):
        argv += ["--end_fsync=1", "--overwrite=1"]
    if not plain:
        argv += ["--randrepeat=0", "--group_reporting=1", "--lat_percentiles=1", "--percentile_list=50:99:99.9"]
        if rw.startswith("rand"):
            argv.append("--norandommap=1")
        if rw in ("write", "randwrite", "randrw", "rw"):
            argv.append("--refill_buffers=1")
        layout(filename)
        drop_caches()
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=runtime * 5 + 120).stdout
    job = json.loads(out[out.index("{") :])["jobs"][0]
    return job["read"]["iops"] + job["write"]["iops"]


def through_iocompare(cell, runtime: int, ramp: int, work: Path, target: Path) -> float:
    suite = work / f"{cell[0]}.toml"
    suite.write_text(suite_text(cell, runtime, ramp))
    db = work / "fidelity.db"
    iocompare("run", "--suite", str(suite), "--target", str(target), "--db", str(db))
    (row,) = json_report(db)["cells"]
    return row["total_iops"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runtime", type=int, default=10)
    parser.add_argument("--ramp", type=int, default=2)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--plain", action="store_true", help="by hand = bare command line, no preparation")
    parser.add_argument("--cells", default=",".join(c[0] for c in CELLS), help="comma-separated workload names")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-fidelity-", dir=args.target))
    try:
        hand_file = work / "byhand.dat"
        layout(hand_file)
        side = "bare fio command line" if args.plain else "same options, fresh layout, caches dropped"
        print(
            f"fidelity: {args.rounds} rounds, ramp {args.ramp} s + runtime {args.runtime} s, working set {SIZE}; "
            f"by hand: {side}"
        )
        print(f"{'cell':<16} {'ratios iocompare/by-hand per round':<48} median  verdict")
        all_ok = True
        for cell in [c for c in CELLS if c[0] in args.cells.split(",")]:
            ratios = []
            for round_index in range(args.rounds):
                order = ("tool", "hand") if round_index % 2 == 0 else ("hand", "tool")
                values = {}
                for who in order:
                    if who == "tool":
                        values[who] = through_iocompare(cell, args.runtime, args.ramp, work, args.target)
                    else:
                        values[who] = by_hand(cell, args.runtime, args.ramp, hand_file, args.plain)
                ratios.append(values["tool"] / values["hand"])
            mid = median(ratios)
            ok = 0.97 <= mid <= 1.03
            all_ok &= ok
            shown = " ".join(f"{r:.3f}" for r in ratios)
            print(f"{cell[0] + '@' + cell[3]:<16} {shown:<48} {mid:.3f}   {'ok' if ok else 'OUTSIDE 0.97-1.03'}")
        print("fidelity:", "all cells within 0.97-1.03" if all_ok else "some cells outside 0.97-1.03")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
