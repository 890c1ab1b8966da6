"""Boot-to-ready time of QEMU microvm guests, per trial: from starting QEMU to the guest's init
reporting its disks found and commands accepted (the `boot_to_ready_s` fact of every trial).

Here QEMU runs under software emulation (TCG): KVM on these machines cannot run stock kernels.
A KVM host boots this guest far faster; that was not measured (no usable KVM host was at hand).

    .venv/bin/python benchmarks/microvm_boot.py [--env qemu --env qemu:fs] [--repeat 3] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import iocompare

SUITE = """
name = "microvm-boot"
runtime_s = 1
ramp_s = 0
repeat = {repeat}
max_repeat = {repeat}
references = false
environments = {environments}

[working_set]
size = "64m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", help="microVM environments (default: qemu, qemu:fs)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    environments = args.env or ["qemu", "qemu:fs"]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from iocompare.store import Store

    work = Path(tempfile.mkdtemp(prefix="iocompare-boot-bench-"))
    try:
        suite, db = work / "suite.toml", work / "boot.db"
        listed = "[" + ", ".join(f'"{e}"' for e in environments) + "]"
        suite.write_text(SUITE.format(repeat=args.repeat, environments=listed))
        started = time.monotonic()
        iocompare("run", "--suite", str(suite), "--target", str(args.target), "--db", str(db))
        wall_s = time.monotonic() - started
        with Store.open(db) as store:
            run = store.load_run(store.resolve_run("latest"))
        print(f"boot-to-ready per trial ({len(run.trials)} trials, whole run {wall_s:.1f} s):")
        for env in environments:
            _kind, facts = run.environments[env]
            times = [
                float(t.facts["boot_to_ready_s"])
                for t in run.trials
                if t.trial.environment == env and "boot_to_ready_s" in t.facts
            ]
            accel = facts.get("accelerator", "?")
            shown = ", ".join(f"{t:.2f}" for t in times)
            print(f"  {env:10s} accelerator={accel}: {shown} s; median {statistics.median(times):.2f} s")
            vcpu = [
                float(t.facts["vcpu_cpu_s"])
                for t in run.trials
                if t.trial.environment == env and "vcpu_cpu_s" in t.facts
            ]
            if vcpu:
                print(f"  {'':10s} vCPU threads' host CPU during a 1 s fio run: median {statistics.median(vcpu):.2f} s")
            if facts.get("timing_caveat"):
                print(f"  {'':10s} caveat: {facts['timing_caveat']}")
        print("  KVM: not measured (no host here where KVM runs a stock kernel)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
