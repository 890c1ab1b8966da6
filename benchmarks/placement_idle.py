"""Issue 11's closing figures: the podman-vs-host 1 MiB random read ratio with today's design (each
environment its own working-set file, fio started at once), with the shared working set, and with
the shared working set plus equal idle before every trial, measured side by side in one run.

Each design is one `iocompare run --env host --env podman` of the same cell; the designs take
turns, round after round (their order rotates), so the disk's drift hits them alike. Per design it
prints every round's ratio (geomean podman / geomean host, 95 % bootstrap CI), the verdict and the
checks that fired, and the ratio over all rounds' trials. Run under the shared IO lock:

    flock /tmp/iocompare-io.lock .venv/bin/python benchmarks/placement_idle.py [--rounds 2] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _common import iocompare
from iocompare.analysis.compare import compare_run
from iocompare.analysis.runchecks import check_run, suspect_labels
from iocompare.analysis.stats import ratio_of_geomeans
from iocompare.model import TrialStatus
from iocompare.store import Store

SUITE = """
name = "placement-idle-{design}"
runtime_s = {runtime}
ramp_s = {ramp}
repeat = {repeat}
max_repeat = {repeat}
references = false
settle_s = {settle}
environments = ["host", "podman"]
[working_set]
size = "1g"
shared = {shared}
[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["1m"]
"""


@dataclass(frozen=True)
class Design:
    name: str
    shared: bool
    settle_s: float


DESIGNS = (
    Design("today (own files, no settle)", shared=False, settle_s=0.0),
    Design("shared working set", shared=True, settle_s=0.0),
    Design("shared + equal idle (3 s)", shared=True, settle_s=3.0),
)


def one_run(design: Design, index: int, work: Path, target: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    suite, db = work / f"{index}.toml", work / f"{index}.db"
    suite.write_text(
        SUITE.format(
            design=index,
            runtime=args.runtime,
            ramp=args.ramp,
            repeat=args.repeat,
            settle=design.settle_s,
            shared="true" if design.shared else "false",
        )
    )
    iocompare("run", "--suite", str(suite), "--target", str(target), "--db", str(db))
    with Store.open(db) as store:
        run_id = store.resolve_run("latest")
        run, samples = store.load_run(run_id), store.run_samples(run_id)
    checks = check_run(run, samples)
    (comparison,) = compare_run(run, baseline="host", suspects=suspect_labels(checks))
    fired = sorted({r.check.value for results in checks.values() for r in results if r.fired})
    gaps = {}
    for env in ("host", "podman"):
        recorded = [
            float(t.facts["idle_gap_s"]) for t in run.trials if t.trial.environment == env and "idle_gap_s" in t.facts
        ]
        gaps[env] = statistics.median(recorded) if recorded else float("nan")
    files = {t.trial.environment: t.facts.get("working_set_file", "?") for t in run.trials}
    same = "one file" if files.get("host") == files.get("podman") else "own files"
    print(
        f"  {design.name}: {comparison.describe()}; idle before fio host {gaps['host']:.2f} s, "
        f"podman {gaps['podman']:.2f} s; {same}; fired: {', '.join(fired) or 'none'}",
        flush=True,
    )
    values: dict[str, list[float]] = {"host": [], "podman": []}
    for t in run.trials:
        if t.status is TrialStatus.OK and t.result is not None:
            values[t.trial.environment].append(t.result.total_bw_bps)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runtime", type=int, default=3)
    parser.add_argument("--ramp", type=int, default=1)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iocompare-placement-"))
    pooled: dict[str, dict[str, list[float]]] = {d.name: {"host": [], "podman": []} for d in DESIGNS}
    print(
        f"podman vs host, 1 MiB random read, {args.repeat} trials each per run, ramp {args.ramp} s + runtime "
        f"{args.runtime} s, {args.rounds} rounds of the three designs in turn"
    )
    try:
        index = 0
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}:")
            order = DESIGNS[round_number % 3 :] + DESIGNS[: round_number % 3]
            for design in order:
                index += 1
                values = one_run(design, index, work, args.target, args)
                for env in ("host", "podman"):
                    pooled[design.name][env] += values[env]
        print("over all rounds (geomean podman / geomean host, 95 % bootstrap CI):")
        for design in DESIGNS:
            v = pooled[design.name]
            estimate = ratio_of_geomeans(v["host"], v["podman"], seed=1)
            ci = f"CI {estimate.ci.low:.2f} to {estimate.ci.high:.2f}" if estimate.ci else "no CI"
            print(f"  {design.name}: {estimate.ratio:.2f}x ({ci}; n = {estimate.n_a} + {estimate.n_b})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
