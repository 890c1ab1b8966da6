"""Where the IO lands, as a dimension of a run: target specs and the `env@target` labels.

A target is a directory on the filesystem under test (or a raw block device), or a spec the run
prepares itself and removes afterwards: `mkfs:FS:DEVICE[:MKFS-OPTIONS]` makes a filesystem on a
scratch block device, `loop:FS:SIZE[:MKFS-OPTIONS]` on a loop file (for tests: a stacked
filesystem). With one target the labels are the environment names alone, so single-target runs
read as before; with several, every environment runs on every target as `env@target`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from iocompare.errors import UserError
from iocompare.units import parse_size

SEPARATOR = "@"
FILESYSTEMS = ("ext4", "xfs", "btrfs")
MIN_LOOP_BYTES = 300 << 20  # xfs refuses filesystems below 300 MiB


class TargetKind(str, enum.Enum):
    PATH = "path"  # a directory (or a raw block device), used as it is
    MKFS = "mkfs"  # a filesystem the run makes on a scratch block device or partition
    LOOP = "loop"  # a filesystem the run makes on a loop file: stacked on the file's filesystem


@dataclass(frozen=True)
class TargetSpec:
    text: str  # as the user wrote it; the label's target part
    kind: TargetKind
    filesystem: str | None = None
    device: str | None = None  # MKFS: the block device
    size_bytes: int | None = None  # LOOP: the file's size
    mkfs_options: tuple[str, ...] = ()

    @property
    def prepared(self) -> bool:
        return self.kind is not TargetKind.PATH


def parse_target(text: str, flag: str = "--target") -> TargetSpec:
    """One target spec, or a UserError naming the flag and the value."""
    if not text or "\0" in text:
        raise UserError(f"{flag} {text!r} is not a usable target: empty or with a NUL byte")
    head, _, rest = text.partition(":")
    if head not in (TargetKind.MKFS.value, TargetKind.LOOP.value) or text.startswith("/"):
        return TargetSpec(text, TargetKind.PATH)
    fs, _, rest = rest.partition(":")
    if fs not in FILESYSTEMS:
        raise UserError(
            f"{flag} {text!r}: filesystem {fs!r} is not one iocompare makes", hint=f"one of {', '.join(FILESYSTEMS)}"
        )
    where, _, options = rest.partition(":")
    mkfs_options = tuple(options.split()) if options else ()
    if head == TargetKind.MKFS.value:
        if not where.startswith("/dev/"):
            raise UserError(f"{flag} {text!r}: the device must be a path under /dev", hint="e.g. mkfs:xfs:/dev/sdb1")
        return TargetSpec(text, TargetKind.MKFS, fs, device=where, mkfs_options=mkfs_options)
    try:
        size = parse_size(where)
    except ValueError:
        raise UserError(f"{flag} {text!r}: {where!r} is not a size", hint="e.g. loop:ext4:1g") from None
    if size < MIN_LOOP_BYTES:
        raise UserError(f"{flag} {text!r}: a loop file must be at least {MIN_LOOP_BYTES >> 20} MiB")
    return TargetSpec(text, TargetKind.LOOP, fs, size_bytes=size, mkfs_options=mkfs_options)


def parse_targets(texts: Sequence[str], flag: str = "--target") -> tuple[TargetSpec, ...]:
    specs = tuple(parse_target(text, flag) for text in texts)
    if len({s.text for s in specs}) != len(specs):
        raise UserError(f"{flag} is given twice with the same target: {', '.join(texts)}")
    return specs


def label(environment: str, target: str | None) -> str:
    return environment if target is None else f"{environment}{SEPARATOR}{target}"


def split_label(text: str) -> tuple[str, str | None]:
    """'podman@/mnt/xfs' -> ('podman', '/mnt/xfs'); 'podman' -> ('podman', None)."""
    environment, sep, target = text.partition(SEPARATOR)
    return environment, (target if sep else None)


def environment_labels(environments: Sequence[str], targets: Sequence[str]) -> tuple[str, ...]:
    """Every environment on every target, target-major (the host of each target next to its peers)."""
    if len(targets) <= 1:
        return tuple(environments)
    return tuple(label(env, target) for target in targets for env in environments)


def baseline_for(candidate: str, baseline: str, labels: Sequence[str], baseline_target: str | None) -> str:
    """The label `candidate` is compared against. With targets, the baseline environment on the
    candidate's own target; with `baseline_target`, the candidate's own environment on that target."""
    env, target = split_label(candidate)
    if target is None:
        return baseline
    chosen = label(env, baseline_target) if baseline_target is not None else label(split_label(baseline)[0], target)
    return chosen if chosen in labels else baseline
