"""`iocompare run`'s targets: `--target` (repeatable) or the suite's `targets`, each checked
before anything is written (directories writable, devices guarded, made filesystems possible)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from iocompare.environments.blockdev import guard, is_block_device
from iocompare.environments.host import check_target
from iocompare.errors import UserError
from iocompare.execute.prepared import check_prepared
from iocompare.spec.load import validate_suite
from iocompare.spec.models import Suite
from iocompare.spec.targets import TargetKind, TargetSpec, parse_targets
from iocompare.units import format_size

PREPARED_BASE = Path("/var/tmp")  # where a made target's loop file and mount point go


@dataclass(frozen=True)
class TargetChoice:
    specs: tuple[TargetSpec, ...]
    primary: Path  # the first directory target (the settings' `target`), else where made ones go
    preflight: tuple[str, ...]  # what will be overwritten or made, said before the run

    @property
    def texts(self) -> list[str]:
        return [spec.text for spec in self.specs]

    def path_of(self, spec: TargetSpec) -> Path:
        """Where the dry run plans a target's space: a made one on the filesystem it is made under."""
        return Path(spec.text).absolute() if not spec.prepared else PREPARED_BASE


def with_target_flags(suite: Suite, flags: list[str] | None) -> Suite:
    """--target replaces the suite's target(s): one flag sets `target`, several `targets`."""
    if not flags:
        return suite
    data = {**suite.model_dump(mode="json"), "target": None, "targets": None}
    data.update({"target": flags[0]} if len(flags) == 1 else {"targets": list(flags)})
    return validate_suite(data, "--target")


def choose_targets(
    suite: Suite,
    default: str,
    *,
    baseline_target: str | None,
    allow_destroy: bool,
    force: bool,
    check_paths: bool,
) -> TargetChoice:
    specs = parse_targets(suite.target_texts(default))
    if baseline_target is not None and baseline_target not in [s.text for s in specs]:
        raise UserError(
            f"--baseline-target {baseline_target!r} is not one of the run's targets",
            hint="targets: " + ", ".join(s.text for s in specs),
        )
    if baseline_target is not None and len(specs) < 2:
        raise UserError(f"--baseline-target {baseline_target!r} needs at least two targets (--target twice)")
    preflight: list[str] = []
    for spec in specs:
        if spec.prepared:
            preflight += _check_made(spec, allow_destroy, force, suite.working_set.size)
            continue
        path = Path(spec.text).absolute()
        if is_block_device(path):
            preflight += guard(path, allow_destroy=allow_destroy, force=force, working_set_bytes=suite.working_set.size)
        if check_paths:
            check_target(path)
    paths = [Path(s.text).absolute() for s in specs if s.kind is TargetKind.PATH]
    return TargetChoice(specs, paths[0] if paths else PREPARED_BASE, tuple(preflight))


def _check_made(spec: TargetSpec, allow_destroy: bool, force: bool, working_set_bytes: int) -> list[str]:
    tools = [f"mkfs.{spec.filesystem}", "mount"] + (["losetup"] if spec.kind is TargetKind.LOOP else [])
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise UserError(
            f"--target {spec.text} needs {', '.join(missing)}, not found", hint="scripts/setup.sh installs them"
        )
    if spec.kind is TargetKind.LOOP and spec.size_bytes is not None:
        free = shutil.disk_usage(PREPARED_BASE).free
        if spec.size_bytes > free:
            raise UserError(
                f"--target {spec.text}: the loop file does not fit in {PREPARED_BASE} ({format_size(free)} free)",
                hint="a smaller loop file",
            )
    lines = check_prepared(spec, allow_destroy=allow_destroy, force=force, working_set_bytes=working_set_bytes)
    return [*lines, f"will make {spec.filesystem} for target {spec.text} and remove it after the run"]


def all_at_once(suite: Suite) -> Suite:
    """--all-at-once: the remote hosts become one environment, `remote:A+B+C`, whose every trial
    runs the cell on all of them simultaneously (fio's multi-client mode)."""
    remotes = [name for name in suite.environments if name.partition(":")[0] == "remote"]
    if not remotes:
        raise UserError(
            "--all-at-once needs remote hosts, got none",
            hint="--env remote:HOST[:PORT] once per host",
        )
    joined = "remote:" + "+".join(name.partition(":")[2] for name in remotes)
    others = [name for name in suite.environments if name not in remotes]
    return validate_suite({**suite.model_dump(mode="json"), "environments": [*others, joined]}, "--all-at-once")
