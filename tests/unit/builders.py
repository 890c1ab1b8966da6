"""Builders of real model objects for tests: sensible defaults, override what matters.

Every builder returns the frozen dataclasses from `iocompare.model`; numbers are plausible for
an NVMe drive so that code checking sanity does not trip over them by accident.
"""

from __future__ import annotations

import json
from typing import Any

from iocompare.model import (
    Cell,
    DirectionResult,
    FioResult,
    FioRun,
    Pattern,
    Percentiles,
    Sample,
    Trial,
)

MiB = 1 << 20
GiB = 1 << 30


def make_cell(**overrides: Any) -> Cell:
    fields: dict[str, Any] = {
        "workload": "rand-read-qd32",
        "pattern": Pattern.RAND_READ,
        "block_size_bytes": 4096,
        "iodepth": 32,
        "numjobs": 1,
        "read_percent": None,
        "ioengine": "libaio",
        "direct": True,
        "runtime_s": 30,
        "ramp_s": 5,
        "working_set_bytes": 8 * GiB,
    }
    fields.update(overrides)
    return Cell(**fields)


def make_trial(index: int = 0, **overrides: Any) -> Trial:
    fields: dict[str, Any] = {
        "index": index,
        "round": 0,
        "cell": make_cell(),
        "environment": "host",
        "seed": 1000 + index,
    }
    fields.update(overrides)
    return Trial(**fields)


def make_percentiles(base_ns: float = 80_000.0) -> Percentiles:
    return Percentiles(p50_ns=base_ns, p99_ns=base_ns * 3.5, p999_ns=base_ns * 9.25)


def make_direction(iops: float = 250_000.0, block_size_bytes: int = 4096, **overrides: Any) -> DirectionResult:
    runtime_ms = 30_000
    total_ios = int(iops * runtime_ms / 1000)
    fields: dict[str, Any] = {
        "io_bytes": total_ios * block_size_bytes,
        "bw_bps": iops * block_size_bytes,
        "iops": iops,
        "runtime_ms": runtime_ms,
        "total_ios": total_ios,
        "short_ios": 0,
        "drop_ios": 0,
        "lat_mean_ns": 127_500.25,
        "lat_min_ns": 9_000.0,
        "lat_max_ns": 4_100_000.0,
        "lat": make_percentiles(120_000.0),
        "clat": make_percentiles(118_000.5),
    }
    fields.update(overrides)
    return DirectionResult(**fields)


def make_result(*, read: bool = True, write: bool = False, sync: bool = False, **overrides: Any) -> FioResult:
    fields: dict[str, Any] = {
        "fio_version": "fio-3.36",
        "read": make_direction() if read else None,
        "write": make_direction(iops=180_000.0) if write else None,
        "sync": make_percentiles(450_000.0) if sync else None,
        "cpu_usr_pct": 12.5,
        "cpu_sys_pct": 41.25,
        "error": 0,
        "job_count": 1,
        "problems": (),
    }
    fields.update(overrides)
    return FioResult(**fields)


def make_fio_run(*, output: dict[str, Any] | str | None = None, **overrides: Any) -> FioRun:
    if output is None:
        output = {"fio version": "fio-3.36", "jobs": [{"jobname": "iocompare", "error": 0}]}
    fields: dict[str, Any] = {
        "argv": ("fio", "--output-format=json+", "--output=/tmp/out.json", "job.fio"),
        "exit_code": 0,
        "output_json": output if isinstance(output, str) else json.dumps(output, indent=2),
        "stderr": "",
        "wall_s": 35.4,
    }
    fields.update(overrides)
    return FioRun(**fields)


def make_samples(count: int = 3, interval_s: float = 1.0) -> list[Sample]:
    return [
        Sample(
            t_s=i * interval_s,
            host_cpu_pct=20.0 + i,
            proc_cpu_pct=None if i == 0 else 95.5 + i,
            disk_read_bytes=i * 1000 * MiB,
            disk_write_bytes=i * 4096,
            free_bytes=100 * GiB - i * MiB,
        )
        for i in range(count)
    ]
