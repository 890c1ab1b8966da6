"""Per-cell descriptive summaries of repeated trials (no inference: that is compare's job)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    n: int
    median: float
    mean: float
    min: float
    max: float
    cv: float | None  # sample standard deviation / mean; None below two values

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread | None:
        values = [float(v) for v in values if v is not None]
        if not values:
            return None
        mean = statistics.fmean(values)
        cv = statistics.stdev(values) / mean if len(values) > 1 and mean else None
        return cls(len(values), statistics.median(values), mean, min(values), max(values), cv)


def median_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
