"""Container start-to-ready overhead per trial, for each engine that works here.

Each trial starts a fresh container; this prints, over N containers, the median of:
  start      `run -d` until the container's host PID is known (recorded per trial as container_start_s)
  ready      start plus the first `exec` (fio could run now)
  per trial  ready plus `rm -f` (everything a trial adds to fio's own time)
Target: median start-to-ready at most 1 s here.

    .venv/bin/python benchmarks/container_overhead.py [--n 10] [--target /var/tmp]
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from _common import median
from iocompare.engines.fio_binary import find_fio
from iocompare.environments import registry
from iocompare.environments.base import RunContext
from iocompare.system.resources import RunResources


def measure(name: str, target: Path, n: int) -> None:
    reason = registry.choose(name).unavailable_reason
    if reason is not None:
        print(f"{name}: skipped, {reason}")
        return
    context = RunContext(
        target=target, run_tag=uuid.uuid4().hex[:8], fio=find_fio(), resources=RunResources("bench", persist=False)
    )
    environment = registry.create(name, context)
    start, ready, total = [], [], []
    with environment:
        for _ in range(n):
            began = time.monotonic()
            instance = environment.instance()
            with instance:
                instance.exec_text(["/bin/true"])
                ready.append(time.monotonic() - began)
                start.append(instance.start_s)
            total.append(time.monotonic() - began)
    verdict = "within" if median(ready) <= 1.0 else "ABOVE"
    print(
        f"{name}: n={n} median start {median(start):.3f} s, start-to-ready {median(ready):.3f} s "
        f"({verdict} the 1 s target), per trial incl. removal {median(total):.3f} s; "
        f"ready min/max {min(ready):.3f}/{max(ready):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--target", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    for name in ("podman", "docker"):
        measure(name, args.target, args.n)


if __name__ == "__main__":
    main()
