"""Data for the two charts drawn from what every trial already stores, beyond its summary:

- throughput over the trial: the monitor's device byte counters (sampled every 0.5 s), as MiB/s
  between consecutive samples, one line per trial, per environment and cell. It shows warm-up,
  stalls and a write-back burst after fio ends that a mean hides. The counters are the target
  device's, so they include the ramp and anything else on the device; a trial without a device
  (no counters) draws nothing rather than a line at zero.
- latency distribution: fio's latency histogram bins (json+ `lat_ns.bins`, else `clat_ns.bins`)
  of the cell's main direction, merged over jobs and trials per environment, as a CDF: the same
  bins the reported percentiles come from, so the curve and the p50/p99 agree.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iocompare.model import Cell, Sample, TrialStatus
from iocompare.store.records import StoredRun

MiB = 1 << 20
ALL_CLIENTS = "All clients"


@dataclass(frozen=True)
class TrialSeries:
    environment: str
    trial_index: int
    t_s: tuple[float, ...]  # midpoints of the sample intervals
    mib_per_s: tuple[float, ...]


@dataclass(frozen=True)
class CellSeries:
    cell: Cell
    series: tuple[TrialSeries, ...]


@dataclass(frozen=True)
class LatencyCdf:
    environment: str
    latency_ns: tuple[float, ...]  # bin values, ascending
    fraction: tuple[float, ...]  # share of IOs at or below, 0..1
    ios: int


@dataclass(frozen=True)
class CellLatency:
    cell: Cell
    direction: str  # "read" or "write"
    cdfs: tuple[LatencyCdf, ...]


def _rates(samples: Sequence[Sample]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    ts, rates = [], []
    for before, after in itertools.pairwise(samples):
        dt = after.t_s - before.t_s
        if dt <= 0:
            continue
        moved = (after.disk_read_bytes + after.disk_write_bytes) - (before.disk_read_bytes + before.disk_write_bytes)
        ts.append((before.t_s + after.t_s) / 2)
        rates.append(max(moved, 0) / dt / MiB)
    return tuple(ts), tuple(rates)


def throughput_series(run: StoredRun, samples: Mapping[int, Sequence[Sample]]) -> list[CellSeries]:
    out = []
    for cell in run.cells:
        series = []
        for stored in run.trials:
            if stored.trial.cell.key != cell.key or stored.status is not TrialStatus.OK:
                continue
            found = sorted(samples.get(stored.id, ()), key=lambda s: s.t_s)
            if len(found) < 2 or found[-1].disk_read_bytes + found[-1].disk_write_bytes <= 0:
                continue  # no device counters: nothing to draw, never a flat zero
            ts, rates = _rates(found)
            if ts:
                series.append(TrialSeries(stored.trial.environment, stored.trial.index, ts, rates))
        if series:
            out.append(CellSeries(cell, tuple(series)))
    return out


def _jobs(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "client_stats" in document:
        return [j for j in document["client_stats"] if j.get("jobname") != ALL_CLIENTS]
    return list(document.get("jobs", []))


def histogram_bins(raw_json: str, direction: str) -> Counter[int]:
    """Merged latency bins (ns -> IOs) of one direction over every job of a fio json+ output;
    empty when the output has no bins (plain json, or an unparseable file)."""
    try:
        start = raw_json.index("{")
        document = json.loads(raw_json[start:])
    except ValueError:
        return Counter()
    merged: Counter[int] = Counter()
    for job in _jobs(document):
        side = job.get(direction) or {}
        stats = side.get("lat_ns") if "bins" in (side.get("lat_ns") or {}) else side.get("clat_ns")
        for value, count in ((stats or {}).get("bins") or {}).items():
            merged[int(value)] += int(count)
    return merged


def cdf(bins: Counter[int]) -> tuple[tuple[float, ...], tuple[float, ...], int]:
    total = sum(bins.values())
    if total <= 0:
        return (), (), 0
    xs, ys, running = [], [], 0
    for value in sorted(bins):
        running += bins[value]
        xs.append(float(value))
        ys.append(running / total)
    return tuple(xs), tuple(ys), total


def latency_distributions(
    run: StoredRun, raw_outputs: Mapping[int, str], environments: Sequence[str]
) -> list[CellLatency]:
    """`raw_outputs`: trial id -> fio json+ text (Store.raw_output), for successful trials."""
    out = []
    for cell in run.cells:
        direction = "read" if cell.pattern.reads else "write"
        cdfs = []
        for env in environments:
            merged: Counter[int] = Counter()
            for stored in run.trials:
                if stored.trial.cell.key == cell.key and stored.trial.environment == env and stored.id in raw_outputs:
                    merged.update(histogram_bins(raw_outputs[stored.id], direction))
            xs, ys, ios = cdf(merged)
            if ios:
                cdfs.append(LatencyCdf(env, xs, ys, ios))
        if cdfs:
            out.append(CellLatency(cell, direction, tuple(cdfs)))
    return out
