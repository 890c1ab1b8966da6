"""The report as JSON. Versioned: see docs/report-json.md; bump SCHEMA_VERSION on any change
that removes or renames a field (adding fields keeps the version).

History: 1 = first version. Added without a version change: per-cell `warnings`, `checks`,
`flags`; top-level `analysis` (report/json_analysis.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from iocompare.report.analysis_view import AnalysisView
from iocompare.report.build import CellSummary, DirectionSummary, Report, environment_facts
from iocompare.report.fleet_text import fleet_json
from iocompare.report.json_analysis import analysis_json, cell_analysis
from iocompare.report.settings import run_design, run_settings

SCHEMA_NAME = "iocompare-report"
SCHEMA_VERSION = 1


def _spread(spread: Any) -> dict[str, Any] | None:
    return None if spread is None else asdict(spread)


def _direction(side: DirectionSummary | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "iops": side.iops.median,
        "bw_bytes_per_s": side.bw_bps.median,
        "iops_spread": _spread(side.iops),
        "bw_bytes_per_s_spread": _spread(side.bw_bps),
        "lat_ns": {"p50": side.lat_p50_ns, "p99": side.lat_p99_ns, "p99_9": side.lat_p999_ns},
        "clat_ns": {"p50": side.clat_p50_ns, "p99": side.clat_p99_ns, "p99_9": side.clat_p999_ns},
    }


def _cell(summary: CellSummary, facts: dict[str, str], view: AnalysisView) -> dict[str, Any]:
    cell = summary.cell
    return {
        "key": cell.key,
        "environment": summary.environment,
        "workload": cell.workload,
        "pattern": cell.pattern.value,
        "block_size_bytes": cell.block_size_bytes,
        "iodepth": cell.iodepth,
        "numjobs": cell.numjobs,
        "read_percent": cell.read_percent,
        "ioengine": cell.ioengine,
        "direct": cell.direct,
        "runtime_s": cell.runtime_s,
        "ramp_s": cell.ramp_s,
        "working_set_bytes": cell.working_set_bytes,
        "n": summary.n_ok,
        "n_total": summary.n_total,
        "statuses": summary.statuses,
        "reasons": list(summary.reasons),
        "labels": summary.labels,
        "latency_not_measurable": summary.latency_note,  # null, or why every latency figure is null
        "read": _direction(summary.read),
        "write": _direction(summary.write),
        "total_iops": summary.total_iops.median if summary.total_iops else None,
        "total_bw_bytes_per_s": summary.total_bw_bps.median if summary.total_bw_bps else None,
        # The figure every other format shows for the cell (docs/statistics.md, "One figure per cell").
        "geomean_bw_bytes_per_s": summary.geomean_bw_bps,
        "geomean_iops": summary.geomean_iops,
        "sync_lat_ns_p99": summary.sync_p99_ns,
        "cpu": {"usr_pct": summary.cpu_usr_pct, "sys_pct": summary.cpu_sys_pct},
        "monitor": asdict(summary.monitor),
        "facts": facts,
        **cell_analysis(view, cell.key, summary.environment),
    }


def run_identity(report: Report) -> dict[str, Any]:
    """The fields that name a run, shared by the JSON report and the JSON export."""
    info = report.run.info
    return {
        "id": info.id,
        "name": info.name,
        "suite": info.suite_name,
        "status": info.status.value,
        "created_at": info.created_at,
        "finished_at": info.finished_at,
        "effective": asdict(run_settings(report.run)),  # how it was configured (report/settings.py)
    }


def _design(report: Report) -> dict[str, Any] | None:
    """The design, its expected cost range for this run's cells and what it spent (None: an import)."""
    design = run_design(report.run)
    if design is None:
        return None
    return {
        **asdict(design.design),
        "expected": asdict(design.expected),
        "trials": design.trials,
        "fio_s_spent": round(design.fio_s_spent, 3),
    }


def report_dict(report: Report) -> dict[str, Any]:
    info = report.run.info
    facts = {env: environment_facts(report.run, env) for env in report.environments}
    return {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "run": {
            **run_identity(report),
            "trials_ok": info.trials_ok,
            "trials_total": info.trials_total,
            "settings": report.run.settings,
            "design": _design(report),
        },
        "host": report.run.host_facts,
        "environments": [
            {"name": env, "kind": report.run.environments[env][0], "facts": facts[env]} for env in report.environments
        ],
        "cells": [
            _cell(report.summaries[(cell.key, env)], facts[env], report.analysis)
            for cell in report.cells
            for env in report.environments
            if (cell.key, env) in report.summaries
        ],
        "analysis": analysis_json(report.analysis),
        "all_at_once": fleet_json(report.run),  # per host and aggregate, one entry per cell run on several hosts
    }


def render_json(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, sort_keys=False, default=str)
