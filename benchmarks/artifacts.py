"""The old mistake on purpose, and a correct configuration beside it, on the same machine.

Mistake: buffered IO (direct=0) on a working set of 12 MiB, a few times smaller than any cache
(the shape of the widely shared "12.5x faster" result). Correct: O_DIRECT on a 1 GiB working set.
Both run the same 4 KiB mixed random 70/30 and 4 KiB random read cells on the host; the artifact
checks must flag the first and not the second.

    .venv/bin/python benchmarks/artifacts.py [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _common import iocompare
from iocompare.analysis.artifacts import CheckStatus
from iocompare.analysis.runchecks import check_run
from iocompare.store import Store

SUITE = """
name = "{name}"
runtime_s = 3
ramp_s = 1
repeat = 3
max_repeat = 3
direct = {direct}
[working_set]
size = "{size}"
min_size = "{size}"
policy = "label"
[[workloads]]
name = "mixed-rand-70"
pattern = "mixed-rand"
read_percent = 70
block_sizes = ["4k"]
[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
[[workloads]]
name = "rand-read-qd1"
pattern = "rand-read"
iodepth = 1
block_sizes = ["4k"]
"""


def fired(db: Path) -> dict[str, list[str]]:
    with Store.open(db) as store:
        run_id = store.resolve_run("latest")
        checks = check_run(store.load_run(run_id), store.run_samples(run_id))
    out = {}
    for (key, env), results in sorted(checks.items()):
        out[f"{key} {env}"] = [f"{r.check.value}: {r.explanation}" for r in results if r.status is CheckStatus.FIRED]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-artifacts-"))
    try:
        results = {}
        for label, direct, size in (("old-mistake", "false", "12m"), ("correct", "true", "1g")):
            suite, db = work / f"{label}.toml", work / f"{label}.db"
            suite.write_text(SUITE.format(name=label, direct=direct, size=size))
            iocompare("run", "--suite", str(suite), "--target", str(args.target), "--db", str(db))
            results[label] = fired(db)
        for label, cells in results.items():
            print(f"{label}:")
            for cell, checks in cells.items():
                print(f"  {cell}: {'; '.join(checks) if checks else 'no check fired'}")
        mistake_flagged = all(results["old-mistake"].values())
        correct_clean = not any(results["correct"].values())
        print(f"old mistake flagged in every cell: {mistake_flagged}; correct configuration clean: {correct_clean}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
