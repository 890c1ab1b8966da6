"""Flat tables of a stored run for spreadsheets and notebooks: one row per trial, and one row per
cell and environment (summaries, with the verdict against the baseline). Columns: docs/export.md.

Values are numbers, strings or None; CSV writes None as an empty field. Column names carry units.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from iocompare.model import DirectionResult, Sample
from iocompare.report.build import Report
from iocompare.report.cell_stats import cell_stats, cpu_per_io, host_cpu_count
from iocompare.report.json_report import run_identity

SCHEMA_NAME = "iocompare-export"
SCHEMA_VERSION = 1
TABLES = ("trials", "summaries")

_CELL = (
    "cell_key",
    "workload",
    "pattern",
    "block_size_bytes",
    "iodepth",
    "numjobs",
    "read_percent",
    "ioengine",
    "direct",
    "runtime_s",
    "ramp_s",
    "working_set_bytes",
)
_SIDE = (
    "iops",
    "bw_bytes_per_s",
    "io_bytes",
    "total_ios",
    "runtime_ms",
    "lat_mean_ns",
    "lat_p50_ns",
    "lat_p99_ns",
    "lat_p999_ns",
    "clat_p50_ns",
    "clat_p99_ns",
    "clat_p999_ns",
)
TRIAL_COLUMNS = (
    "run_id", "run_name", "trial_id", "trial_index", "round", "environment", "environment_kind", *_CELL,
    "status", "reason", "seed", "started_at", "ended_at", "wall_s", "fio_version",
    *(f"read_{c}" for c in _SIDE), *(f"write_{c}" for c in _SIDE),
    "total_iops", "total_bw_bytes_per_s", "sync_p50_ns", "sync_p99_ns", "sync_p999_ns",
    "cpu_usr_pct", "cpu_sys_pct", "job_count", "fio_error", "problems",
    "monitor_samples", "host_cpu_pct_mean", "env_cpu_pct_mean", "host_cpu_s_per_io", "env_cpu_s_per_io",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "run_id", "run_name", *_CELL, "environment", "environment_kind", "n_ok", "n_total", "statuses",
    "bw_bytes_per_s_mean", "bw_bytes_per_s_ci_low", "bw_bytes_per_s_ci_high", "bw_bytes_per_s_median",
    "bw_bytes_per_s_min", "bw_bytes_per_s_max", "bw_cv",
    "iops_mean", "iops_ci_low", "iops_ci_high", "iops_median",
    "read_lat_p50_ns", "read_lat_p99_ns", "read_lat_p999_ns",
    "write_lat_p50_ns", "write_lat_p99_ns", "write_lat_p999_ns",
    "host_cpu_pct", "env_cpu_pct", "host_cpu_s_per_io", "env_cpu_s_per_io",
    "baseline", "verdict", "ratio", "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted", "flags", "warnings",
)  # fmt: skip


def _cell(cell: Any) -> dict[str, Any]:
    return {
        "cell_key": cell.key, "workload": cell.workload, "pattern": cell.pattern.value,
        "block_size_bytes": cell.block_size_bytes, "iodepth": cell.iodepth, "numjobs": cell.numjobs,
        "read_percent": cell.read_percent, "ioengine": cell.ioengine, "direct": int(cell.direct),
        "runtime_s": cell.runtime_s, "ramp_s": cell.ramp_s, "working_set_bytes": cell.working_set_bytes,
    }  # fmt: skip


def _side(prefix: str, side: DirectionResult | None) -> dict[str, Any]:
    if side is None:
        return {f"{prefix}_{c}": None for c in _SIDE}
    values = (side.iops, side.bw_bps, side.io_bytes, side.total_ios, side.runtime_ms, side.lat_mean_ns,
              side.lat.p50_ns, side.lat.p99_ns, side.lat.p999_ns,
              side.clat.p50_ns, side.clat.p99_ns, side.clat.p999_ns)  # fmt: skip
    return {f"{prefix}_{c}": v for c, v in zip(_SIDE, values, strict=True)}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def trial_rows(report: Report, samples: Mapping[int, Sequence[Sample]] | None) -> list[dict[str, Any]]:
    run, cpus = report.run, host_cpu_count(report.run)
    rows = []
    for st in sorted(run.trials, key=lambda t: t.trial.index):
        trial, r = st.trial, st.result
        series = (samples or {}).get(st.id, ())
        proc = [s.proc_cpu_pct for s in series if s.proc_cpu_pct is not None]
        host_io, env_io = cpu_per_io(r, series, cpus) if r is not None else (None, None)
        row: dict[str, Any] = {
            "run_id": run.info.id, "run_name": run.info.name, "trial_id": st.id, "trial_index": trial.index,
            "round": trial.round,
            "environment": trial.environment, "environment_kind": run.environments.get(trial.environment, ("?", {}))[0],
            **_cell(trial.cell),
            "status": st.status.value, "reason": st.reason, "seed": trial.seed, "started_at": st.started_at,
            "ended_at": st.ended_at, "wall_s": st.wall_s, "fio_version": r.fio_version if r else None,
            **_side("read", r.read if r else None), **_side("write", r.write if r else None),
            "total_iops": r.total_iops if r else None, "total_bw_bytes_per_s": r.total_bw_bps if r else None,
            "sync_p50_ns": r.sync.p50_ns if r and r.sync else None,
            "sync_p99_ns": r.sync.p99_ns if r and r.sync else None,
            "sync_p999_ns": r.sync.p999_ns if r and r.sync else None,
            "cpu_usr_pct": r.cpu_usr_pct if r else None, "cpu_sys_pct": r.cpu_sys_pct if r else None,
            "job_count": r.job_count if r else None, "fio_error": r.error if r else None,
            "problems": "; ".join(r.problems) if r else None,
            "monitor_samples": len(series), "host_cpu_pct_mean": _mean([s.host_cpu_pct for s in series]),
            "env_cpu_pct_mean": _mean(proc),
            "host_cpu_s_per_io": host_io, "env_cpu_s_per_io": env_io,
        }  # fmt: skip
        rows.append(row)
    return rows


def summary_rows(report: Report, samples: Mapping[int, Sequence[Sample]] | None) -> list[dict[str, Any]]:
    view = report.analysis
    stats = cell_stats(report.run, samples, view.policy)
    verdicts = {(c.key, view.environment(c.candidate)): c for c in view.comparisons}
    rows = []
    for cell in report.cells:
        for env in report.environments:
            s = report.summary(cell, env)
            if s is None:
                continue
            cs = stats.get((cell.key, env))
            bw, iops = (cs.bw_bps, cs.iops) if cs else (None, None)
            c = verdicts.get((cell.key, env))
            est = c.estimate if c else None
            row = {
                "run_id": report.run.info.id, "run_name": report.run.info.name, **_cell(cell), "environment": env,
                "environment_kind": report.run.environments[env][0], "n_ok": s.n_ok, "n_total": s.n_total,
                "statuses": ";".join(f"{k}={n}" for k, n in s.statuses.items()),
                "bw_bytes_per_s_mean": bw.mean if bw else None,
                "bw_bytes_per_s_ci_low": bw.mean_ci.low if bw and bw.mean_ci else None,
                "bw_bytes_per_s_ci_high": bw.mean_ci.high if bw and bw.mean_ci else None,
                "bw_bytes_per_s_median": bw.median if bw else None,
                "bw_bytes_per_s_min": bw.min if bw else None, "bw_bytes_per_s_max": bw.max if bw else None,
                "bw_cv": bw.cv if bw else None,
                "iops_mean": iops.mean if iops else None,
                "iops_ci_low": iops.mean_ci.low if iops and iops.mean_ci else None,
                "iops_ci_high": iops.mean_ci.high if iops and iops.mean_ci else None,
                "iops_median": iops.median if iops else None,
                "read_lat_p50_ns": s.read.lat_p50_ns if s.read else None,
                "read_lat_p99_ns": s.read.lat_p99_ns if s.read else None,
                "read_lat_p999_ns": s.read.lat_p999_ns if s.read else None,
                "write_lat_p50_ns": s.write.lat_p50_ns if s.write else None,
                "write_lat_p99_ns": s.write.lat_p99_ns if s.write else None,
                "write_lat_p999_ns": s.write.lat_p999_ns if s.write else None,
                "host_cpu_pct": s.monitor.host_cpu_pct, "env_cpu_pct": s.monitor.env_cpu_pct,
                "host_cpu_s_per_io": cs.host_cpu_s_per_io if cs else None,
                "env_cpu_s_per_io": cs.env_cpu_s_per_io if cs else None,
                "baseline": view.baseline, "verdict": c.verdict.value if c else None,
                "ratio": est.ratio if est else None,
                "ratio_ci_low": est.ci.low if est and est.ci else None,
                "ratio_ci_high": est.ci.high if est and est.ci else None,
                "p_value": c.p_value if c else None, "p_adjusted": c.p_adjusted if c else None,
                "flags": ";".join(r.check.value for r in view.flags(cell.key, env)),
                "warnings": ";".join(w.code for w in view.warnings_for(cell.key, env)),
            }  # fmt: skip
            rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def to_json(report: Report, samples: Mapping[int, Sequence[Sample]] | None) -> str:
    document = {
        "schema": SCHEMA_NAME,
        "schema_version": SCHEMA_VERSION,
        "run": {**run_identity(report), "baseline": report.analysis.baseline},
        "trials": trial_rows(report, samples),
        "summaries": summary_rows(report, samples),
    }
    return json.dumps(document, indent=1, default=str) + "\n"
