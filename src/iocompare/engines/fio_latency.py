"""fio's latency blocks and histograms: `clat_ns`/`lat_ns`/`slat_ns` (with or without `N`), the
older microsecond `clat`/`lat` blocks, `percentile` maps, json+ `bins` (keyed by latency in ns, or
by bucket index in fio 2.x), and the percentiles of several entries merged from their bins.
engines/fio_parse.py reads the rest of a document with them."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from iocompare.engines.fio_fields import integer, number
from iocompare.errors import FioOutputError
from iocompare.model import Percentiles

REPORTED_PERCENTILES = (50.0, 99.0, 99.9)
US_TO_NS = 1000


class PercentileSource(str, enum.Enum):
    """Where a trial's latency percentiles came from (recorded per trial as `percentile_source`)."""

    BINS = "json+ histogram bins"  # merged over jobs and clients: exact across them
    FIO = "fio's own percentiles (json)"  # one entry only: fio's per-entry numbers cannot be merged
    NONE = "none in the output"


def percentile_from_bins(bins: Mapping[int, int], q: float) -> float:
    """Latency below which `q` percent of the IOs fell, computed the way fio computes it.

    fio does not keep individual latencies: it counts each IO in a log-linear histogram
    bucket (64 buckets per power of two, so a bucket is at most ~1.6 % wide). json+ output
    dumps the non-empty buckets as `"bins": {"<latency ns>": count}`, keyed by the bucket's
    representative (mid-point) latency in ns. fio's own percentile is the representative
    value of the first bucket, in ascending latency order, whose cumulative count reaches
    q/100 of all IOs; this function does the same, so for a single histogram it reproduces
    fio's `percentile` numbers exactly, and for merged histograms it gives the percentile
    fio would have reported with group_reporting.

    Raises ValueError for q outside (0, 100], negative counts or an empty histogram.
    """
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    if any(count < 0 for count in bins.values()):
        raise ValueError("histogram counts must not be negative")
    total = sum(bins.values())
    if total <= 0:
        raise ValueError("empty latency histogram")
    # Exact rational threshold: no float rounding right at a bucket boundary.
    threshold = Fraction(q) / 100 * total
    running = 0
    for value in sorted(bins):
        running += bins[value]
        if running >= threshold:
            return float(value)
    raise AssertionError("unreachable: the cumulative count reaches the total")


def bucket_value(index: int, bits: int = 6) -> int:
    """The representative value of fio's histogram bucket `index` (fio's plat_idx_to_val):
    fio 2.x json+ keys its bins by bucket index, fio 3.x by this value."""
    val = 1 << bits
    if index < (val << 1):
        return index
    error_bits = (index >> bits) - 1
    base = 1 << (error_bits + bits)
    return int(base + (index % val + 0.5) * (1 << error_bits))


@dataclass(frozen=True)
class LatencyBlock:
    """One latency block of one entry, in ns, with its sample count (fio's `N`, or the IO count
    of its direction when fio did not write `N`)."""

    samples: int
    mean_ns: float
    min_ns: float
    max_ns: float
    bins: Mapping[int, int] | None  # latency ns -> count (json+)
    percentiles: Mapping[float, float] | None  # q -> latency ns (fio's own)


def latency_block(node: Any, where: str, *, scale: int, fallback_samples: int) -> LatencyBlock | None:
    if not isinstance(node, dict):
        return None
    if "N" in node:
        samples = integer(node, "N", where)
    else:
        # fio before 3.2x writes no N: an entry with IO has one sample per IO; a block of zeros has none.
        has_values = number(node, "max", where, default=0) > 0 or number(node, "mean", where, default=0) > 0
        samples = fallback_samples if has_values else 0
    bins = histogram_bins(node.get("bins"), f"{where}.bins", scale) if "bins" in node else None
    percentiles = None
    if isinstance(node.get("percentile"), dict):
        percentiles = {}
        for key in node["percentile"]:
            try:
                q = float(key)
            except ValueError:
                raise FioOutputError(f"field {where}.percentile has a key that is not a number: {key!r:.40}") from None
            if 0 < q <= 100:  # fio 3.1 pads the map with "0.00": 0 entries
                percentiles[q] = number(node["percentile"], key, f"{where}.percentile") * scale
    return LatencyBlock(
        samples=samples,
        mean_ns=number(node, "mean", where, default=0) * scale,
        min_ns=number(node, "min", where, default=0) * scale,
        max_ns=number(node, "max", where, default=0) * scale,
        bins=bins,
        percentiles=percentiles,
    )


def histogram_bins(node: Any, where: str, scale: int) -> Mapping[int, int]:
    """json+ bins as latency ns -> count. fio 2.x keys them by bucket index, with its constants."""
    if not isinstance(node, dict):
        raise FioOutputError(f"field {where} is not an object")
    out: Counter[int] = Counter()
    indexed = "FIO_IO_U_PLAT_BITS" in node
    bits = integer(node, "FIO_IO_U_PLAT_BITS", where) if indexed else 6
    for key in node:
        if key.startswith("FIO_IO_U_PLAT_"):
            continue
        try:
            raw = int(key)
        except ValueError:
            raise FioOutputError(f"field {where} has a key that is not a number: {key!r:.40}") from None
        count = integer(node, key, where)
        if count:
            value = bucket_value(raw, bits) if indexed else raw
            out[value * scale] += count
    return out


def merged_percentiles(stats: Sequence[LatencyBlock]) -> tuple[Percentiles, PercentileSource]:
    """Percentiles of one latency kind over all jobs: merged bins, else fio's own numbers.

    fio's `percentile` dict is per entry, and percentiles of several entries cannot be combined;
    without bins it is only used when a single entry has samples (one job or group_reporting).
    """
    with_samples = [s for s in stats if s.samples > 0]
    if not with_samples:
        return Percentiles(), PercentileSource.NONE
    if all(s.bins is not None for s in with_samples):
        merged: Counter[int] = Counter()
        for s in with_samples:
            merged.update(s.bins or {})
        if sum(merged.values()) > 0:
            p50, p99, p999 = (percentile_from_bins(merged, q) for q in REPORTED_PERCENTILES)
            return Percentiles(p50_ns=p50, p99_ns=p99, p999_ns=p999), PercentileSource.BINS
    only = with_samples[0]
    if len(with_samples) == 1 and only.percentiles:
        f50, f99, f999 = (only.percentiles.get(q) for q in REPORTED_PERCENTILES)
        return Percentiles(p50_ns=f50, p99_ns=f99, p999_ns=f999), PercentileSource.FIO
    return Percentiles(), PercentileSource.NONE


def overall_source(sources: Sequence[PercentileSource]) -> PercentileSource:
    for kind in (PercentileSource.BINS, PercentileSource.FIO):
        if kind in sources:
            return kind
    return PercentileSource.NONE
