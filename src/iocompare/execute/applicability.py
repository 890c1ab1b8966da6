"""Whether a cell may run in an environment, decided before fio starts.

The methodology never changes the IO mode or shrinks the working set behind the user's back:
a cell that cannot be measured honestly is marked, with the reason, instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocompare.environments.base import Environment
from iocompare.errors import IocompareError
from iocompare.model import Cell, TrialStatus
from iocompare.spec.models import CachePolicy
from iocompare.units import format_size


@dataclass(frozen=True)
class Verdict:
    status: TrialStatus | None  # None: run it
    reason: str | None
    labels: dict[str, str]  # facts attached to a cell that runs anyway


def judge(cell: Cell, environment: Environment, *, cache_multiple: float, policy: CachePolicy) -> Verdict:
    logical = environment.logical_block_size()
    if cell.direct and logical and cell.block_size_bytes < logical:
        return Verdict(
            TrialStatus.NOT_APPLICABLE,
            f"{format_size(cell.block_size_bytes)} direct IO needs a logical block size of at most "
            f"{format_size(cell.block_size_bytes)}; the device's is {format_size(logical)}",
            {},
        )
    for layer in environment.cache_layers(cell.direct):
        needed = cache_multiple * layer.ram_bytes
        if not layer.bypassed and cell.working_set_bytes < needed:
            reason = (
                f"working set {format_size(cell.working_set_bytes)} is smaller than {cache_multiple:g}x "
                f"the {layer.name} ({format_size(layer.ram_bytes)}): the result would measure memory"
            )
            if policy is CachePolicy.REFUSE:
                return Verdict(TrialStatus.REFUSED, reason, {})
            return Verdict(None, None, {"working_set_warning": reason})
    return Verdict(None, None, {})


def preview(
    cells: Sequence[Cell], environments: Mapping[str, Environment], *, cache_multiple: float, policy: CachePolicy
) -> list[str]:
    """What `judge` will say about each cell in each environment, for the dry run: the cells that
    will be refused, not applicable or labelled. An environment that only knows its facts once it
    has started says so instead of "fits"."""
    lines = []
    for name, environment in environments.items():
        try:
            verdicts = [
                (cell, judge(cell, environment, cache_multiple=cache_multiple, policy=policy)) for cell in cells
            ]
        except (IocompareError, OSError) as exc:
            lines.append(f"{name}: which cells can run is known once it starts ({exc})")
            continue
        for cell, verdict in verdicts:
            if verdict.status is not None:
                lines.append(f"{cell.key} in {name}: {verdict.status.value}: {verdict.reason}")
            elif "working_set_warning" in verdict.labels:
                lines.append(f"{cell.key} in {name}: runs, labelled: {verdict.labels['working_set_warning']}")
        if verdicts and all(verdict.status is not None for _, verdict in verdicts):
            lines.append(f"{name}: no cell would be measured")
    return lines
