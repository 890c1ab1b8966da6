"""`iocompare` with one more environment kind for the benchmarks: `plim:<name>`, a Podman
container (bind variant) whose IO on the target's device is throttled by the engine itself
(`--device-read-bps/--device-write-bps/--device-read-iops/--device-write-iops`, cgroup blkio).

The limits are chosen below what the device delivers for every benchmark cell, so the engine's
throttle, not the device, sets each container's rate, and the ratio of two such containers is
known in advance: a planted effect. Names (limits per environment) come from IOCOMPARE_PLIM,
`name=bps:iops,...` (e.g. `base=80m:2000,twin=80m:2000,planted=64m:1600`).

    python benchmarks/_throttled.py run --suite S --env plim:base --env plim:planted ...
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from iocompare.environments import registry
from iocompare.environments.base import RunContext
from iocompare.environments.container.environment import PodmanEnvironment
from iocompare.errors import UserError
from iocompare.units import parse_size

KIND = "plim"


def limits() -> dict[str, tuple[int, int]]:
    """Environment variant -> (bytes/s, IOs/s), from IOCOMPARE_PLIM."""
    out = {}
    for item in filter(None, os.environ.get("IOCOMPARE_PLIM", "").split(",")):
        name, _, spec = item.partition("=")
        bps, _, iops = spec.partition(":")
        out[name.strip()] = (parse_size(bps.strip()), int(iops))
    return out


def device_of(path: Path) -> str:
    """The whole-disk device node holding `path` (what the blkio throttle is keyed on)."""
    dev = os.stat(path).st_dev
    major, minor = os.major(dev), os.minor(dev)
    sysfs = Path(f"/sys/dev/block/{major}:{minor}")
    disk = sysfs.resolve()
    if (disk / "partition").exists():
        disk = disk.parent
    return f"/dev/{disk.name}"


class ThrottledPodman(PodmanEnvironment):
    """A Podman bind environment with the engine's IO limits on the target's device."""

    def __init__(self, name: str, context: RunContext) -> None:
        variant = name.partition(":")[2]
        if variant not in limits():
            raise UserError(f"no limits for {name!r} in IOCOMPARE_PLIM")
        super().__init__("podman", context)
        self.name = name
        self.slug = name.replace(":", "-")
        self.scratch = self.run_dir / self.slug
        self.work_dir = self.run_dir / f"{self.slug}-io"
        self.volume = f"iocompare-{context.run_tag}-{self.slug}"
        self.bps, self.iops = limits()[variant]
        self.device = device_of(context.target)

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        return [(name, f"podman throttled to {bps} B/s, {iops} IO/s") for name, (bps, iops) in limits().items()]

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        return None if variant in limits() else f"no limits for {variant!r}"

    def storage_args(self) -> list[str]:
        dev = self.device
        return [
            *super().storage_args(),
            f"--device-read-bps={dev}:{self.bps}",
            f"--device-write-bps={dev}:{self.bps}",
            f"--device-read-iops={dev}:{self.iops}",
            f"--device-write-iops={dev}:{self.iops}",
        ]

    def facts(self):  # type: ignore[no-untyped-def]
        facts = dict(super().facts())
        facts["io_limit"] = f"{self.device} {self.bps} B/s, {self.iops} IO/s (engine throttle)"
        return facts


registry.KINDS[KIND] = ThrottledPodman

if __name__ == "__main__":
    from iocompare.cli.main import main

    sys.exit(main(sys.argv[1:]))
