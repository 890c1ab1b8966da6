"""Narrowing a suite from the command line (`--workload`, `--block-size`, `--pattern`) without
writing a TOML. Applied before the reference cells are added, so a filtered comparison still
gets the cells its artifact checks need. Every filter value must match something: a value that
matches nothing is bad input naming it, never a silently empty (or unfiltered) run."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from iocompare.errors import UserError
from iocompare.model import Pattern
from iocompare.spec.load import validate_suite
from iocompare.spec.models import Suite
from iocompare.units import format_size, parse_size


@dataclass(frozen=True)
class Filters:
    workloads: tuple[str, ...] = ()  # fnmatch globs on workload names
    block_sizes: tuple[int, ...] = ()  # bytes
    patterns: tuple[Pattern, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.workloads or self.block_sizes or self.patterns)


def parse_filters(workloads: Sequence[str], block_sizes: Sequence[str], patterns: Sequence[str]) -> Filters:
    sizes = []
    for text in block_sizes:
        try:
            sizes.append(parse_size(text))
        except ValueError:
            raise UserError(f"--block-size {text!r} is not a size", hint="e.g. --block-size 4k") from None
    known = {p.value: p for p in Pattern}
    chosen = []
    for text in patterns:
        if text not in known:
            raise UserError(f"--pattern {text!r} is not a pattern", hint=f"patterns: {', '.join(known)}")
        chosen.append(known[text])
    return Filters(tuple(workloads), tuple(sizes), tuple(chosen))


def apply_filters(suite: Suite, filters: Filters) -> Suite:
    """The suite with only the workloads and block sizes the filters keep. Raises UserError
    naming the first filter value that matches nothing, or the combination when nothing is left."""
    if not filters.active:
        return suite
    names = [w.name for w in suite.workloads]
    for glob in filters.workloads:
        if not any(fnmatch.fnmatchcase(name, glob) for name in names):
            raise UserError(
                f"--workload {glob!r} matches no workload of suite {suite.name}", hint=f"workloads: {', '.join(names)}"
            )
    all_sizes = sorted({size for w in suite.workloads for size in suite.block_sizes_of(w)})
    for size in filters.block_sizes:
        if size not in all_sizes:
            listed = ", ".join(format_size(s) for s in all_sizes)
            raise UserError(
                f"--block-size {format_size(size)} is not a block size of suite {suite.name}", hint=f"sizes: {listed}"
            )
    used = {w.pattern for w in suite.workloads}
    for pattern in filters.patterns:
        if pattern not in used:
            listed = ", ".join(sorted(p.value for p in used))
            raise UserError(
                f"--pattern {pattern.value} is not used by suite {suite.name}", hint=f"patterns in it: {listed}"
            )
    data = suite.model_dump(mode="json")
    kept = []
    for workload, raw in zip(suite.workloads, data["workloads"], strict=True):
        if filters.workloads and not any(fnmatch.fnmatchcase(workload.name, g) for g in filters.workloads):
            continue
        if filters.patterns and workload.pattern not in filters.patterns:
            continue
        sizes = [s for s in suite.block_sizes_of(workload) if not filters.block_sizes or s in filters.block_sizes]
        if not sizes:
            continue
        raw["block_sizes"] = sizes
        kept.append(raw)
    if not kept:
        raise UserError(f"the filters together leave no cell of suite {suite.name}", hint=describe(filters))
    data["workloads"] = kept
    return validate_suite(data, "filters")


def describe(filters: Filters) -> str:
    """The filters as given, for the plan and the run header."""
    parts = [f"--workload {g}" for g in filters.workloads]
    parts += [f"--block-size {format_size(s)}" for s in filters.block_sizes]
    parts += [f"--pattern {p.value}" for p in filters.patterns]
    return " ".join(parts)
