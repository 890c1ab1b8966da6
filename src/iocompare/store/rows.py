"""Conversions between the frozen model objects and SQLite row tuples.

Column order here matches the INSERT and SELECT statements in `db.py`; both sides are kept
next to each other by naming the columns once, in the tuples below.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from iocompare.model import Cell, DirectionResult, FioResult, Pattern, Percentiles, Sample

CELL_COLUMNS = (
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

RESULT_COLUMNS = (
    "fio_version",
    "cpu_usr_pct",
    "cpu_sys_pct",
    "error",
    "job_count",
    "problems_json",
    "has_sync",
    "sync_p50_ns",
    "sync_p99_ns",
    "sync_p999_ns",
)

DIRECTION_COLUMNS = (
    "io_bytes",
    "bw_bps",
    "iops",
    "runtime_ms",
    "total_ios",
    "short_ios",
    "drop_ios",
    "lat_mean_ns",
    "lat_min_ns",
    "lat_max_ns",
    "lat_p50_ns",
    "lat_p99_ns",
    "lat_p999_ns",
    "clat_p50_ns",
    "clat_p99_ns",
    "clat_p999_ns",
)

SAMPLE_COLUMNS = (
    "t_s",
    "host_cpu_pct",
    "proc_cpu_pct",
    "disk_read_bytes",
    "disk_write_bytes",
    "free_bytes",
)

CODEC = "zlib"


def columns(names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + name for name in names)


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, so equal dicts give equal text (and diff cleanly)."""
    return json.dumps(value, sort_keys=True)


def loads(text: str) -> Any:
    return json.loads(text)


def compress(text: str) -> tuple[int, bytes]:
    # surrogatepass: fio output decoded with errors="surrogateescape" still round-trips.
    data = text.encode("utf-8", errors="surrogatepass")
    return len(data), zlib.compress(data, 6)


def decompress(codec: str, blob: bytes) -> str:
    if codec != CODEC:
        raise ValueError(f"unknown codec {codec!r} for a stored raw output")
    return zlib.decompress(blob).decode("utf-8", errors="surrogatepass")


def cell_row(cell: Cell) -> tuple[Any, ...]:
    return (
        cell.workload,
        cell.pattern.value,
        cell.block_size_bytes,
        cell.iodepth,
        cell.numjobs,
        cell.read_percent,
        cell.ioengine,
        int(cell.direct),
        cell.runtime_s,
        cell.ramp_s,
        cell.working_set_bytes,
    )


def cell_from_row(row: Sequence[Any]) -> Cell:
    (workload, pattern, bs, iodepth, numjobs, read_pct, engine, direct, runtime, ramp, ws) = row
    return Cell(
        workload=workload,
        pattern=Pattern(pattern),
        block_size_bytes=bs,
        iodepth=iodepth,
        numjobs=numjobs,
        read_percent=read_pct,
        ioengine=engine,
        direct=bool(direct),
        runtime_s=runtime,
        ramp_s=ramp,
        working_set_bytes=ws,
    )


def result_row(result: FioResult) -> tuple[Any, ...]:
    sync = result.sync
    return (
        result.fio_version,
        result.cpu_usr_pct,
        result.cpu_sys_pct,
        result.error,
        result.job_count,
        dumps(list(result.problems)),
        int(sync is not None),
        sync.p50_ns if sync else None,
        sync.p99_ns if sync else None,
        sync.p999_ns if sync else None,
    )


def direction_row(side: DirectionResult) -> tuple[Any, ...]:
    return (
        side.io_bytes,
        side.bw_bps,
        side.iops,
        side.runtime_ms,
        side.total_ios,
        side.short_ios,
        side.drop_ios,
        side.lat_mean_ns,
        side.lat_min_ns,
        side.lat_max_ns,
        side.lat.p50_ns,
        side.lat.p99_ns,
        side.lat.p999_ns,
        side.clat.p50_ns,
        side.clat.p99_ns,
        side.clat.p999_ns,
    )


def direction_from_row(row: Sequence[Any]) -> DirectionResult:
    return DirectionResult(
        io_bytes=row[0],
        bw_bps=row[1],
        iops=row[2],
        runtime_ms=row[3],
        total_ios=row[4],
        short_ios=row[5],
        drop_ios=row[6],
        lat_mean_ns=row[7],
        lat_min_ns=row[8],
        lat_max_ns=row[9],
        lat=Percentiles(row[10], row[11], row[12]),
        clat=Percentiles(row[13], row[14], row[15]),
    )


def result_from_row(row: Sequence[Any], read: DirectionResult | None, write: DirectionResult | None) -> FioResult:
    (version, usr, sys_, error, jobs, problems, has_sync, s50, s99, s999) = row
    return FioResult(
        fio_version=version,
        read=read,
        write=write,
        sync=Percentiles(s50, s99, s999) if has_sync else None,
        cpu_usr_pct=usr,
        cpu_sys_pct=sys_,
        error=error,
        job_count=jobs,
        problems=tuple(loads(problems)),
    )


def sample_row(sample: Sample) -> tuple[Any, ...]:
    return (
        sample.t_s,
        sample.host_cpu_pct,
        sample.proc_cpu_pct,
        sample.disk_read_bytes,
        sample.disk_write_bytes,
        sample.free_bytes,
    )


def sample_from_row(row: Sequence[Any]) -> Sample:
    return Sample(**dict(zip(SAMPLE_COLUMNS, row, strict=True)))
