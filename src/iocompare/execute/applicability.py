"""Whether a cell may run in an environment, decided before fio starts.

The methodology never changes the IO mode or shrinks the working set behind the user's back:
a cell that cannot be measured honestly is marked, with the reason, instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from iocompare.environments.base import Environment
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
