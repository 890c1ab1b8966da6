"""Overhead: the quick suite on the host, total wall time against the sum of fio's ramp + runtime.

Target: at most 1.10x. Everything iocompare adds counts: start-up, fio version check, laying out
the working set, dropping caches, monitor, storing, the final report.

    .venv/bin/python benchmarks/overhead.py [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import iocompare, json_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--suite", default="quick")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-overhead-"))
    try:
        db = work / "overhead.db"
        started = time.monotonic()
        iocompare("run", "--suite", args.suite, "--target", str(args.target), "--db", str(db))
        wall_s = time.monotonic() - started
        report = json_report(db)
        fio_s = sum(cell["n_total"] * (cell["ramp_s"] + cell["runtime_s"]) for cell in report["cells"])
        ratio = wall_s / fio_s
        print(f"overhead: suite {args.suite}, {report['run']['trials_total']} trials")
        print(
            f"  wall time {wall_s:.1f} s, fio ramp+runtime {fio_s:.0f} s, ratio {ratio:.3f} "
            f"({'within' if ratio <= 1.10 else 'ABOVE'} the 1.10 target)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
