"""Time to a trustworthy verdict: today's fixed design against the new default on the same
cells, with planted effects whose true ratio is known and an A/A twin that must stay quiet.

Cells: 3 patterns (rand-read, seq-write, mixed-rand 70/30) x 3 block sizes (4 KiB, 64 KiB,
1 MiB). Environments: four Podman containers throttled by the engine (`benchmarks/_throttled.py`)
below what the device gives every cell: `base`, its A/A `twin` (same limits) and one planted
container per `--planted` factor (default 0.80 and 0.95: every limit x the factor). The true
ratio planted/base is the factor; twin/base is 1. `--host-aa` adds host against host:twin,
unthrottled, with the device's real noise.

The designs (each an `iocompare run` of one pattern's cells) are interleaved in one benchmark
run: per pattern both designs, their order alternating (fixed, new; new, fixed; ...), so drift
of the disk over the run falls on both alike.

- fixed (today's): fixed-length trials, 5 a side, then rounds while the fixed-n 95 % CI is
  undecided up to the cap; no futility stop; no group-sequential boundaries.
- new (the standard suite's default rule): the same trials, ended at steady state when the
  maximum runtime leaves room for the window, looks at the pilot and every 3 trials judged by
  their repeated CIs (Lan-DeMets Pocock-like alpha spending), futility stop after the pilot.

Per design it prints fio-seconds (the sum of each trial's ramp + measured runtime as fio
reports it), wall seconds of the `iocompare run` commands, false verdicts (faster/slower on an
A/A pair), and planted effects found (verdict "slower", and the CI covers the planted ratio),
and the ratio new/fixed of fio-seconds. Results are appended to `--results FILE` (JSON lines);
`--summary FILE` prints the totals of one again.

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/time_to_verdict.py --fixed 0:1 --new 0:1 \
        --max-repeat 8 --settle 0.5 --results /tmp/ttv.jsonl
    .venv/bin/python benchmarks/time_to_verdict.py --summary /tmp/ttv.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from iocompare.analysis.compare import Comparison, Verdict, compare_run
from iocompare.analysis.runchecks import check_run, suspect_labels
from iocompare.store import Store

HERE = Path(__file__).resolve().parent
PATTERNS = {"rand-read": ("rand-read", None), "seq-write": ("seq-write", None), "mixed-rand-70": ("mixed-rand", 70)}
BLOCKS = ("4k", "64k", "1m")
# Far below what this disk gives any benchmark cell (4 KiB QD32 >> 2,000 IO/s, 64 KiB and 1 MiB
# >> 80 MiB/s), so the throttle sets the rate; the planted container gets every limit x factor.
BASE_BPS = 80 << 20
BASE_IOPS = 2000


@dataclass(frozen=True)
class Design:
    name: str
    ramp_s: int
    runtime_s: int  # the maximum when steady_state is set
    repeat: int
    max_repeat: int
    stop_futile: bool
    steady_window_s: int | None  # None: fixed-length trials
    sequential: bool  # group-sequential boundaries at the looks (the suites' [sequential] table)
    settle_s: float

    def toml(self) -> str:
        lines = [
            f"runtime_s = {self.runtime_s}",
            f"ramp_s = {self.ramp_s}",
            f"repeat = {self.repeat}",
            f"max_repeat = {self.max_repeat}",
            f"stop_futile = {'true' if self.stop_futile else 'false'}",
            f"settle_s = {self.settle_s}",
            "references = false",
        ]
        tables = []
        if self.sequential:
            tables += ["[sequential]", 'spending = "pocock"', "look_every = 3"]
        if self.steady_window_s is not None:
            tables += ["[steady_state]", f"window_s = {self.steady_window_s}"]
        return "\n".join([*lines, *tables]) + "\n"


def suite_text(design: Design, environments: list[str], patterns: list[str]) -> str:
    head = f'name = "ttv-{design.name}"\nenvironments = {json.dumps(environments)}\n'
    head += f"block_sizes = {json.dumps(list(BLOCKS))}\n"
    keys, _, tables = design.toml().partition("[")
    text = head + keys + '[working_set]\nsize = "512m"\nmin_size = "256m"\n'
    for name in patterns:
        pattern, read = PATTERNS[name]
        text += f'[[workloads]]\nname = "{name}"\npattern = "{pattern}"\n'
        if read is not None:
            text += f"read_percent = {read}\n"
    return text + ("[" + tables if tables else "")


def run_design(design: Design, environments: list[str], patterns: list[str], work: Path, target: Path) -> dict:
    suite = work / f"{design.name}.toml"
    suite.write_text(suite_text(design, environments, patterns))
    db = work / f"{design.name}-{environments[0].replace(':', '-')}-{'-'.join(patterns)}.db"
    argv = [sys.executable, str(HERE / "_throttled.py"), "run", "--suite", str(suite), "--target", str(target)]
    started = time.monotonic()
    done = subprocess.run([*argv, "--db", str(db)], capture_output=True, text=True, timeout=7200, check=False)
    wall_s = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with Store.open(db) as store:
        run_id = store.resolve_run("latest")
        run, samples = store.load_run(run_id), store.run_samples(run_id)
    fio_s = 0.0
    steady = {"attained": 0, "not attained": 0}
    for stored in run.trials:
        cell = stored.trial.cell
        result = stored.result
        ran_ms = max((d.runtime_ms for d in (result.read, result.write) if d is not None), default=0) if result else 0
        fio_s += cell.ramp_s + (ran_ms / 1000 if result else cell.runtime_s)
        fact = stored.facts.get("steady_state", "")
        if fact:
            steady["attained" if fact.startswith("attained") else "not attained"] += 1
    comparisons = compare_run(run, baseline=environments[0], suspects=suspect_labels(check_run(run, samples)))
    return {
        "design": design.name,
        "environments": environments,
        "patterns": patterns,
        "trials": len(run.trials),
        "fio_s": fio_s,
        "wall_s": wall_s,
        "steady": steady,
        "comparisons": [_row(c) for c in comparisons],
    }


def _row(c: Comparison) -> dict:
    ci = c.estimate.ci if c.estimate is not None else None
    return {
        "key": c.key,
        "candidate": c.candidate,
        "verdict": c.verdict.value,
        "ratio": None if c.estimate is None else c.estimate.ratio,
        "ci": None if ci is None else [ci.low, ci.high],
        "n": None if c.estimate is None else [c.estimate.n_a, c.estimate.n_b],
        "text": c.describe(),
    }


def planted_factor(candidate: str) -> float | None:
    """plim:p80 -> 0.80; an A/A twin (or host:twin) -> None."""
    variant = candidate.partition(":")[2]
    if variant.startswith("p") and variant[1:].isdigit():
        return int(variant[1:]) / 100
    return None


def judge(rows: list[dict], tolerance: float = 0.0) -> dict:
    """False verdicts on A/A pairs; planted effects found with the right sign and covered.

    `tolerance`: the share by which the CI may miss the planted factor and still count as
    covering it. The engine's throttle gives the factor only to its own accuracy (its IOPS and
    byte limits are whole numbers, its accounting works in slices), and a CI of +-0.2 % can
    exclude 0.800 for a real 0.798."""
    false_verdicts = aa_cells = 0
    found: dict[float, int] = defaultdict(int)
    slower: dict[float, int] = defaultdict(int)  # the right sign, whether or not the CI covers the factor
    planted_cells: dict[float, int] = defaultdict(int)
    for record in rows:
        for c in record["comparisons"]:
            factor = planted_factor(c["candidate"])
            called = c["verdict"] in (Verdict.FASTER.value, Verdict.SLOWER.value)
            if factor is not None:
                planted_cells[factor] += 1
                covered = c["ci"] is not None and c["ci"][0] * (1 - tolerance) <= factor <= c["ci"][1] * (1 + tolerance)
                found[factor] += c["verdict"] == Verdict.SLOWER.value and covered
                slower[factor] += c["verdict"] == Verdict.SLOWER.value
            else:
                aa_cells += 1
                false_verdicts += called
    return {
        "false": false_verdicts,
        "aa": aa_cells,
        "found": dict(found),
        "slower": dict(slower),
        "planted": dict(planted_cells),
    }


def summary(path: Path, tolerance: float = 0.0) -> None:
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by_design: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_design[record["design"]].append(record)
    print(f"time to verdict: {len(records)} runs from {path}; planted ratio covered within {tolerance:.1%}")
    totals = {}
    for name, rows in by_design.items():
        verdicts = judge(rows, tolerance)
        planted = sorted(verdicts["planted"].items())
        found = ", ".join(
            f"{factor:g}: {verdicts['found'].get(factor, 0)} of {n} ({verdicts['slower'].get(factor, 0)} called slower)"
            for factor, n in planted
        )
        fio_s, wall_s = sum(r["fio_s"] for r in rows), sum(r["wall_s"] for r in rows)
        trials = sum(r["trials"] for r in rows)
        steady = {k: sum(r["steady"][k] for r in rows) for k in ("attained", "not attained")}
        totals[name] = fio_s
        checked = sum(steady.values())
        steady_text = f"  steady state attained in {steady['attained']} of {checked} trials" if checked else ""
        print(
            f"  {name:<6} fio-seconds {fio_s:8.0f}  wall {wall_s:8.0f} s  trials {trials:4d}  "
            f"false verdicts {verdicts['false']} of {verdicts['aa']} A/A cells  "
            f"planted found ({found})" + steady_text
        )
    if "fixed" in totals and "new" in totals and totals["fixed"]:
        ratio = totals["new"] / totals["fixed"]
        print(f"  new / fixed fio-seconds: {ratio:.2f} (target <= 0.33: {'met' if ratio <= 1 / 3 else 'NOT met'})")
        walls = {name: sum(r["wall_s"] for r in rows) for name, rows in by_design.items()}
        print(f"  new / fixed wall seconds: {walls['new'] / walls['fixed']:.2f}")
    for name, rows in by_design.items():
        for record in rows:
            for c in record["comparisons"]:
                print(f"    {name:<6} {c['candidate']:<14} {c['key']:<18} n={c['n']} {c['text']}")


def parse_design(name: str, text: str, *, new: bool, window: int, max_repeat: int, settle_s: float) -> Design:
    """`ramp:runtime`; the new design ends trials at steady state when the runtime leaves room."""
    ramp, _, runtime = text.partition(":")
    steady = window if new and window < int(runtime) else None
    return Design(name, int(ramp), int(runtime), 5, max_repeat, new, steady, new, settle_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", nargs="+", default=list(PATTERNS), choices=list(PATTERNS))
    parser.add_argument("--fixed", default="5:30", help="today's design: ramp:runtime seconds (default 5:30)")
    parser.add_argument("--new", default="2:10", help="the new default: ramp:maximum runtime (default 2:10)")
    parser.add_argument("--window", type=int, default=3, help="the new design's steady-state window, seconds")
    parser.add_argument("--max-repeat", type=int, default=20, help="both designs' adaptive cap (default 20)")
    parser.add_argument("--settle", type=float, default=3.0, help="both designs' settle_s (default 3)")
    parser.add_argument("--planted", type=float, nargs="+", default=[0.80, 0.95])
    parser.add_argument("--host-aa", action="store_true", help="also host vs host:twin, unthrottled")
    parser.add_argument("--no-planted", action="store_true", help="skip the throttled containers")
    parser.add_argument(
        "--designs", nargs="+", default=["fixed", "new"], choices=["fixed", "new"], help="run only these"
    )
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    parser.add_argument("--results", type=Path, help="append each run's figures here (JSON lines)")
    parser.add_argument("--summary", type=Path, help="print the totals of a results file and exit")
    parser.add_argument(
        "--tolerance", type=float, default=0.01, help="a CI this share from the planted factor still covers it"
    )
    args = parser.parse_args()
    if args.summary:
        summary(args.summary, args.tolerance)
        return
    limits = [f"base={BASE_BPS}:{BASE_IOPS}", f"twin={BASE_BPS}:{BASE_IOPS}"]
    planted_names = []
    for factor in args.planted:
        name = f"p{round(factor * 100)}"
        planted_names.append(f"plim:{name}")
        limits.append(f"{name}={int(BASE_BPS * factor)}:{int(BASE_IOPS * factor)}")
    os.environ["IOCOMPARE_PLIM"] = ",".join(limits)
    designs = [
        parse_design(
            name,
            getattr(args, name),
            new=name == "new",
            window=args.window,
            max_repeat=args.max_repeat,
            settle_s=args.settle,
        )
        for name in args.designs
    ]
    groups = [] if args.no_planted else [["plim:base", "plim:twin", *planted_names]]
    groups += [["host", "host:twin"]] if args.host_aa else []
    results = args.results or Path(tempfile.mkdtemp(prefix="iocompare-ttv-")) / "results.jsonl"
    work = Path(tempfile.mkdtemp(prefix="iocompare-ttv-"))
    started = time.monotonic()
    try:
        block = 0
        for environments in groups:
            for pattern in args.patterns:
                # interleaved: both designs on this pattern's cells, the order alternating per block
                order = designs if block % 2 == 0 else designs[::-1]
                block += 1
                for design in order:
                    record = run_design(design, environments, [pattern], work, args.target)
                    with results.open("a") as out:
                        out.write(json.dumps(record) + "\n")
                    print(
                        f"{design.name:<6} {pattern:<14} {' '.join(environments):<40} trials {record['trials']:4d}  "
                        f"fio {record['fio_s']:6.0f} s  wall {record['wall_s']:6.0f} s",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"benchmark wall time {time.monotonic() - started:.0f} s")
    summary(results, args.tolerance)


if __name__ == "__main__":
    main()
