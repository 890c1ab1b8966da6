"""A/A calibration: the host against itself (host vs host:twin, same storage, same job) must
yield no "faster"/"slower" verdicts beyond what the false discovery rate allows.

12 cells (3 patterns x 4 block sizes), 5 trials each per environment, interleaved. The default
runtime here is shortened (ramp 1 s + runtime 3 s, `--runtime/--ramp` to change) so the
benchmark fits a session; the statistics are the defaults (5 % noise threshold, q = 0.05).

    .venv/bin/python benchmarks/aa_calibration.py [--runtime 3] [--ramp 1] [--repeat 5] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from _common import iocompare
from iocompare.analysis.compare import Verdict, compare_run
from iocompare.analysis.runchecks import check_run, suspect_labels
from iocompare.store import Store

SUITE = """
name = "aa-calibration"
runtime_s = {runtime}
ramp_s = {ramp}
repeat = {repeat}
max_repeat = {repeat}
environments = ["host", "host:twin"]
block_sizes = ["4k", "64k", "1m", "2m"]
[working_set]
size = "1g"
[[workloads]]
name = "rand-read"
pattern = "rand-read"
[[workloads]]
name = "seq-write"
pattern = "seq-write"
[[workloads]]
name = "mixed-rand-70"
pattern = "mixed-rand"
read_percent = 70
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", type=int, default=3)
    parser.add_argument("--ramp", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-aa-"))
    try:
        suite, db = work / "aa.toml", work / "aa.db"
        suite.write_text(SUITE.format(runtime=args.runtime, ramp=args.ramp, repeat=args.repeat))
        iocompare("run", "--suite", str(suite), "--target", str(args.target), "--db", str(db))
        with Store.open(db) as store:
            run_id = store.resolve_run("latest")
            run, samples = store.load_run(run_id), store.run_samples(run_id)
        comparisons = compare_run(run, baseline="host", suspects=suspect_labels(check_run(run, samples)))
        verdicts = Counter(c.verdict for c in comparisons)
        called = verdicts[Verdict.FASTER] + verdicts[Verdict.SLOWER]
        print(
            f"A/A calibration: host vs host:twin, {len(comparisons)} cells, {args.repeat} trials each, "
            f"ramp {args.ramp} s + runtime {args.runtime} s"
        )
        for comparison in comparisons:
            print(f"  {comparison.key}: {comparison.describe()}")
        print("verdict counts: " + ", ".join(f"{v.value}: {n}" for v, n in verdicts.most_common()))
        # With q = 0.05 and every null true, BH controls the family-wise chance of any false call at 5 %.
        print(
            f"faster/slower verdicts: {called} of {len(comparisons)} "
            f"({'OK' if called <= 1 else 'MORE THAN FDR ALLOWS'})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
