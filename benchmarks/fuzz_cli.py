"""The CLI fuzzer of issue 13 (tests/unit/cli_fuzz.py), run long: many more examples than the
bounded CI test, collecting every distinct broken promise instead of stopping at the first.
Prints the number of examples per command group, the exit codes seen, and each problem found
with one argument list that shows it. Exit 1 if anything was found.

    .venv/bin/python benchmarks/fuzz_cli.py [--examples 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "unit"))
sys.path.insert(0, str(ROOT / "src"))

from cli_fuzz import Case, dry_runs, imports, judge, reads
from hypothesis import HealthCheck, given, seed, settings

from iocompare.environments import registry

GROUPS = {"run --dry-run": dry_runs(), "report/compare/export/runs": reads(), "import": imports()}


def _kind(problem: str) -> str:
    """A problem without its argument list and its variable parts: one line per kind of failure."""
    text = problem.split(" -- argv ", 1)[0]
    return re.sub(r"/tmp/iocompare-fuzz-\w+", "{work}", text)[:160]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="examples per command group")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    registry.all_choices()
    found: dict[str, str] = {}
    codes: dict[str, collections.Counter[int | None]] = {group: collections.Counter() for group in GROUPS}
    started = time.monotonic()
    for group, strategy in GROUPS.items():
        counter = codes[group]

        @seed(args.seed)
        @settings(max_examples=args.examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def explore(case: Case) -> None:
            code, broken = judge(case)
            counter[code] += 1  # noqa: B023 (explore runs before the loop moves on)
            for problem in broken:
                found.setdefault(_kind(problem), problem)

        explore()
    wall = time.monotonic() - started
    total = sum(sum(counter.values()) for counter in codes.values())
    print(f"fuzz examples: {total} in {wall:.0f} s (seed {args.seed}, up to {args.examples} per group)")
    for group, counter in codes.items():
        shown = ", ".join(f"{code}: {n}" for code, n in sorted(counter.items(), key=lambda item: str(item[0])))
        print(f"  {group}: {sum(counter.values())} examples; exit codes {shown}")
    print(f"problems found: {len(found)}")
    for kind, example in sorted(found.items()):
        print(f"  - {kind}\n      e.g. {example[:600]}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
