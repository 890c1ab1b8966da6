"""The `--all-at-once` cells for the terminal and JSON: aggregate and per-host throughput, each a
geometric mean across trials with the 95 % bootstrap CI of the mean."""

from __future__ import annotations

from typing import Any

from iocompare.analysis.fleet import FleetCell, fleet_cells
from iocompare.analysis.stats import SampleSummary
from iocompare.store.records import StoredRun

MiB = 1 << 20


def _mib(summary: SampleSummary) -> str:
    value = summary.geomean if summary.geomean is not None else summary.mean
    ci = summary.mean_ci
    ci_text = "no CI" if ci is None else f"CI {ci.low / MiB:,.1f} to {ci.high / MiB:,.1f}"
    return f"{value / MiB:,.1f} MiB/s ({ci_text}, n = {summary.n})"


def fleet_lines(run: StoredRun) -> list[str]:
    lines = []
    for cell in fleet_cells(run):
        lines.append(f"{cell.key} on {len(cell.hosts)} hosts at once: aggregate {_mib(cell.aggregate)}")
        lines += [f"  {share.host}: {_mib(share.bw)}" for share in cell.hosts]
    return lines


def _summary(summary: SampleSummary) -> dict[str, Any]:
    ci = summary.mean_ci
    return {
        "n": summary.n,
        "geomean_bw_bytes_per_s": summary.geomean,
        "mean_bw_bytes_per_s": summary.mean,
        "mean_ci": None if ci is None else [ci.low, ci.high],
    }


def fleet_json(run: StoredRun) -> list[dict[str, Any]]:
    def one(cell: FleetCell) -> dict[str, Any]:
        return {
            "key": cell.key,
            "environment": cell.environment,
            "aggregate": _summary(cell.aggregate),
            "hosts": {share.host: _summary(share.bw) for share in cell.hosts},
        }

    return [one(cell) for cell in fleet_cells(run)]
