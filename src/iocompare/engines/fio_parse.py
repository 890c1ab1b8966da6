"""Parse fio `--output-format=json` / `json+` output into an iocompare FioResult.

Shapes handled (each one a fixture under tests/fixtures/fio/, see its README):
- standalone: `{"fio version", "jobs": [...]}`, one entry per job, or one per group with
  group_reporting;
- client/server: `{"fio version", "client_stats": [...]}`, one entry per job and client, plus an
  aggregate entry named "All clients" when several clients ran; the aggregate is skipped so
  nothing is counted twice (it has no histogram bins anyway);
- fio 3.x versions: `bw_bytes` (3.5 on) or only `bw` in KiB/s (3.1), latency blocks `clat_ns`,
  `lat_ns`, `slat_ns` with a sample count `N` (3.2x on) or without it (3.1 to 3.16), `percentile`
  maps in `clat_ns` or, with lat_percentiles, in `lat_ns`, `sync` blocks (3.5 on), json+ `bins`
  keyed by latency in ns;
- fio 2.x: `io_bytes` and `bw` in KiB, microsecond `clat`/`lat`/`slat` blocks, json+ bins keyed by
  histogram bucket index (with `FIO_IO_U_PLAT_BITS`/`FIO_IO_U_PLAT_VAL`), no `total_ios` before 2.2.

fio may print text before the JSON (warnings, and in client mode the clients' console lines,
prefixed with `<host>`), so the document is decoded from its first line that starts with `{`.
Every number read is checked: not a number, non-finite, negative or beyond what the store can
hold is refused naming the field (FioOutputError), never stored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iocompare.engines.fio_fields import MAX_NUMBER, integer, number
from iocompare.engines.fio_latency import (
    US_TO_NS,
    LatencyBlock,
    PercentileSource,
    latency_block,
    merged_percentiles,
    overall_source,
)
from iocompare.errors import FioOutputError
from iocompare.model import Cell, DirectionResult, FioResult, Pattern, Percentiles, SteadyStateOutcome

ALL_CLIENTS_JOBNAME = "All clients"
MIN_RUNTIME_SHARE = 0.95
_JSON_START = re.compile(r"^\{", re.MULTILINE)
_VERSION = re.compile(r"fio-(\d+)\.(\d+)")

Job = Mapping[str, Any]


@dataclass(frozen=True)
class Units:
    """What the numbers of one document mean: fio 2.x counts KiB and microseconds."""

    io_bytes_factor: int  # io_bytes in bytes (fio 3) or KiB (fio 2)
    legacy_latency: bool  # `clat`/`lat`/`slat` in microseconds instead of `*_ns`


@dataclass(frozen=True)
class ParsedOutput:
    result: FioResult
    percentile_source: PercentileSource


def parse_fio_output(text: str, *, cell: Cell | None = None) -> FioResult:
    """Parse fio's json/json+ output. With `cell`, also check the run against what it asked for."""
    return parse_fio_output_detailed(text, cell=cell).result


def parse_fio_output_detailed(text: str, *, cell: Cell | None = None) -> ParsedOutput:
    """The result and where its percentiles came from."""
    return parse_document(_decode(text), cell=cell)


def parse_document(document: Mapping[str, Any], *, cell: Cell | None = None) -> ParsedOutput:
    try:
        return _build_result(document, cell)
    except FioOutputError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FioOutputError(f"fio output has an unexpected shape: {exc!r}") from exc


def decode_document(text: str) -> Mapping[str, Any]:
    """fio's JSON document, found after any text fio printed before it. Raises FioOutputError."""
    return _decode(text)


def _decode(text: str) -> Mapping[str, Any]:
    if not text or not text.strip():
        raise FioOutputError("fio output is empty", hint="did fio run and write --output?")
    match = _JSON_START.search(text)
    start = match.start() if match else text.find("{")
    if start < 0:
        raise FioOutputError(f"fio output contains no JSON: {_snippet(text)}")
    try:
        document, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise FioOutputError(f"fio output is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError:
        raise FioOutputError("fio output is nested too deeply to be fio's") from None
    if not isinstance(document, dict):
        raise FioOutputError(f"fio output is JSON but not an object: {_snippet(text[start:])}")
    return document


def _snippet(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return repr(first[:80])


def units_of(document: Mapping[str, Any], jobs: Sequence[Job]) -> Units:
    """fio 2.x (KiB, µs) or 3.x (bytes, ns): from the version, else from the key names."""
    match = _VERSION.search(str(document.get("fio version", "")))
    if match:
        legacy = int(match.group(1)) < 3
    else:
        legacy = not any(
            "clat_ns" in job.get(d, {}) or "lat_ns" in job.get(d, {}) for job in jobs for d in ("read", "write")
        )
    # io_kbytes beside io_bytes: io_bytes is in bytes, whatever the version says
    kbytes_beside = any("io_kbytes" in job.get(d, {}) for job in jobs for d in ("read", "write"))
    legacy_bytes = legacy and not kbytes_beside
    legacy_latency = not any(
        key in job.get(d, {}) for job in jobs for d in ("read", "write") for key in ("clat_ns", "lat_ns")
    )
    return Units(io_bytes_factor=1024 if legacy_bytes else 1, legacy_latency=legacy_latency)


def _job_entries(document: Mapping[str, Any]) -> list[tuple[str, Job]]:
    if "client_stats" in document:
        key = "client_stats"
        raw = document["client_stats"]
    elif "jobs" in document:
        key = "jobs"
        raw = document["jobs"]
    else:
        raise FioOutputError("fio output has neither 'jobs' nor 'client_stats'")
    if not isinstance(raw, list):
        raise FioOutputError(f"field {key} is not a list")
    entries = [
        (f"{key}[{i}]", e)
        for i, e in enumerate(raw)
        if not (isinstance(e, dict) and e.get("jobname") == ALL_CLIENTS_JOBNAME)
    ]
    if not entries:
        raise FioOutputError("fio output lists no jobs")
    for where, job in entries:
        if not isinstance(job, dict):
            raise FioOutputError(f"field {where} is not an object")
        if "mixed" in job and "read" not in job:
            raise FioOutputError(
                f"{where} ({job.get('jobname')!r}) has only a 'mixed' total (unified_rw_reporting): "
                "reads and writes cannot be told apart"
            )
        for key in ("error", "usr_cpu", "sys_cpu", "read", "write"):
            if key not in job:
                raise FioOutputError(f"fio job entry {where} ({job.get('jobname')!r}) lacks {key!r}")
    return entries


def _build_result(document: Mapping[str, Any], cell: Cell | None) -> ParsedOutput:
    if "fio version" not in document:
        raise FioOutputError("fio output lacks 'fio version'")
    entries = _job_entries(document)
    units = units_of(document, [job for _, job in entries])
    expected = _expected_directions(cell)
    directions: dict[str, DirectionResult | None] = {}
    sources: list[PercentileSource] = []
    for ddir in ("read", "write"):
        sides = [_Side.read(job[ddir], f"{where}.{ddir}", units) for where, job in entries]
        if ddir == "read":
            sides = [
                dataclasses.replace(s, short_ios=s.short_ios - _misfiled_datasyncs(job, where))
                for s, (where, job) in zip(sides, entries, strict=True)
            ]
        present = expected.get(ddir, False) or sum(s.total_ios for s in sides) > 0
        if present:
            direction, source = _direction(sides)
            directions[ddir] = direction
            sources.append(source)
        else:
            directions[ddir] = None
    sync_blocks = [_sync_block(job, where, units) for where, job in entries]
    sync_stats = [b for b in sync_blocks if b is not None]
    sync: Percentiles | None = None
    if any(b.samples > 0 for b in sync_stats):
        sync, source = merged_percentiles(sync_stats)
        sources.append(source)
    error = max(integer(job, "error", where) for where, job in entries)
    result = FioResult(
        fio_version=str(document["fio version"]),
        read=directions["read"],
        write=directions["write"],
        sync=sync,
        cpu_usr_pct=sum(number(job, "usr_cpu", where) for where, job in entries) / len(entries),
        cpu_sys_pct=sum(number(job, "sys_cpu", where) for where, job in entries) / len(entries),
        error=error,
        job_count=len(entries),
        steady_state=_steady_state([job for _, job in entries]),
    )
    result = dataclasses.replace(result, problems=tuple(_problems(result, expected, cell)))
    return ParsedOutput(result, overall_source(sources))


def _steady_state(jobs: Sequence[Job]) -> SteadyStateOutcome | None:
    """fio's `steadystate` section (present only when the job set `ss_dur`); one per group."""
    sections = [job["steadystate"] for job in jobs if isinstance(job.get("steadystate"), Mapping)]
    if not sections:
        return None
    section = sections[0]
    rule = str(section.get("ss", "?"))
    # fio prints the limit as "bw_slope:2.000000%"; keep it short.
    name, _, value = rule.partition(":")
    limit = f"{name}:{_short_percent(value)}" if value else rule
    return SteadyStateOutcome(
        attained=all(int(s.get("attained", 0)) == 1 for s in sections),
        criterion=_short_percent(str(section.get("criterion", "?"))),
        limit=limit,
    )


def _short_percent(text: str) -> str:
    number = text.rstrip("%")
    try:
        return f"{float(number):.2g}%" if text.endswith("%") else f"{float(number):.3g}"
    except ValueError:
        return text


@dataclass(frozen=True)
class _Side:
    """One direction of one entry, in bytes and ns."""

    io_bytes: int
    bw_bps: float
    iops: float
    runtime_ms: int
    total_ios: int
    short_ios: int
    drop_ios: int
    lat: LatencyBlock | None
    clat: LatencyBlock | None

    @classmethod
    def read(cls, node: Any, where: str, units: Units) -> _Side:
        if not isinstance(node, dict):
            raise FioOutputError(f"field {where} is not an object")
        io_bytes = integer(node, "io_bytes", where) * units.io_bytes_factor
        runtime_ms = integer(node, "runtime", where, default=0)
        iops = number(node, "iops", where, default=0)
        if "bw_bytes" in node:
            bw = number(node, "bw_bytes", where)
        elif runtime_ms > 0:
            bw = io_bytes * 1000 / runtime_ms  # how fio computes bw_bytes; its `bw` is this in whole KiB/s
        else:
            bw = number(node, "bw", where, default=0) * 1024
        # fio 2.1 and older have no total_ios: IOs from the rate fio reports
        total_ios = integer(node, "total_ios", where) if "total_ios" in node else round(iops * runtime_ms / 1000)
        if bw > MAX_NUMBER:
            raise FioOutputError(f"field {where}.io_bytes is out of range for its runtime: {bw:g} bytes/s")
        scale = US_TO_NS if units.legacy_latency else 1
        suffix = "" if units.legacy_latency else "_ns"
        return cls(
            io_bytes=io_bytes,
            bw_bps=bw,
            iops=iops,
            runtime_ms=runtime_ms,
            total_ios=total_ios,
            short_ios=integer(node, "short_ios", where, default=0),
            drop_ios=integer(node, "drop_ios", where, default=0),
            lat=latency_block(
                node.get("lat" + suffix), f"{where}.lat{suffix}", scale=scale, fallback_samples=total_ios
            ),
            clat=latency_block(
                node.get("clat" + suffix), f"{where}.clat{suffix}", scale=scale, fallback_samples=total_ios
            ),
        )


def _sync_block(job: Job, where: str, units: Units) -> LatencyBlock | None:
    sync = job.get("sync")
    if not isinstance(sync, dict):
        return None
    count = integer(sync, "total_ios", f"{where}.sync", default=0)
    suffix, scale = ("lat", US_TO_NS) if "lat_ns" not in sync and "lat" in sync else ("lat_ns", 1)
    return latency_block(sync.get(suffix), f"{where}.sync.{suffix}", scale=scale, fallback_samples=max(count, 1))


def _misfiled_datasyncs(job: Job, where: str) -> int:
    """fio 3.33 counts fdatasync calls in an array slot that is read's `short_ios`.

    Seen in real output: with fdatasync=1 the JSON shows `sync.total_ios` = 0 and
    `read.short_ios` = number of fdatasyncs (= `sync.lat_ns.N`); with fsync=1 the count is in
    `sync.total_ios` and `read.short_ios` is 0. Those are not short reads, so they are taken
    back out; when the shape differs (a fixed fio, or one without `N`) nothing is subtracted.
    """
    sync = job.get("sync")
    lat = sync.get("lat_ns") if isinstance(sync, dict) else None
    if not isinstance(sync, dict) or not isinstance(lat, dict) or "N" not in lat:
        return 0
    synced = integer(lat, "N", f"{where}.sync.lat_ns")
    short = integer(job["read"], "short_ios", f"{where}.read", default=0)
    if synced > 0 and integer(sync, "total_ios", f"{where}.sync", default=0) == 0 and short >= synced:
        return synced
    return 0


def _expected_directions(cell: Cell | None) -> dict[str, bool]:
    """Directions the cell's pattern must produce IO in (a 100/0 mix expects only one)."""
    if cell is None:
        return {}
    pattern: Pattern = cell.pattern
    reads, writes = pattern.reads, pattern.writes
    if pattern.mixed and cell.read_percent is not None:
        reads, writes = cell.read_percent > 0, cell.read_percent < 100
    return {"read": reads, "write": writes}


def _direction(sides: Sequence[_Side]) -> tuple[DirectionResult, PercentileSource]:
    lats = [s.lat for s in sides if s.lat is not None and s.lat.samples > 0]
    samples = sum(lat.samples for lat in lats)
    lat, lat_source = merged_percentiles([s.lat for s in sides if s.lat is not None])
    clat, clat_source = merged_percentiles([s.clat for s in sides if s.clat is not None])
    result = DirectionResult(
        io_bytes=sum(s.io_bytes for s in sides),
        bw_bps=sum(s.bw_bps for s in sides),
        iops=sum(s.iops for s in sides),
        runtime_ms=max(s.runtime_ms for s in sides),
        total_ios=sum(s.total_ios for s in sides),
        short_ios=sum(s.short_ios for s in sides),
        drop_ios=sum(s.drop_ios for s in sides),
        # A mean over jobs is only right when each job's mean is weighted by its IO count.
        lat_mean_ns=sum(lat.mean_ns * lat.samples for lat in lats) / samples if samples else None,
        lat_min_ns=min(lat.min_ns for lat in lats) if lats else None,
        lat_max_ns=max(lat.max_ns for lat in lats) if lats else None,
        lat=lat,
        clat=clat,
    )
    return result, overall_source([lat_source, clat_source])


def _problems(result: FioResult, expected: Mapping[str, bool], cell: Cell | None) -> list[str]:
    problems: list[str] = []
    if result.error:
        problems.append(f"fio reported error {result.error} ({strerror(result.error)})")
    directions = {"read": result.read, "write": result.write}
    for ddir, direction in directions.items():
        if direction is None:
            continue
        if direction.short_ios:
            problems.append(f"{ddir}: {direction.short_ios} short IOs (fewer bytes than asked)")
        if direction.drop_ios:
            problems.append(f"{ddir}: {direction.drop_ios} dropped IOs")
        if expected.get(ddir) and direction.io_bytes == 0:
            problems.append(f"{ddir}: no IO completed, but the pattern expects {ddir}s")
    if cell is None and all(d is None or d.io_bytes == 0 for d in directions.values()):
        problems.append("no IO completed in either direction")
    if cell is not None:
        if cell.pattern is Pattern.FSYNC_PROBE and result.sync is None:
            problems.append("fsync probe: fio recorded no fdatasync latency")
        runtimes = [d.runtime_ms for d in directions.values() if d is not None and d.io_bytes > 0]
        asked_ms = cell.runtime_s * 1000
        # Ended by the steady-state rule: a shorter runtime is the point. Not attained is judged
        # over a cell's trials by the run-sanity check (the trial's `steady_state` fact).
        ended_steady = result.steady_state is not None and result.steady_state.attained
        if runtimes and max(runtimes) < MIN_RUNTIME_SHARE * asked_ms and not ended_steady:
            problems.append(
                f"runtime {max(runtimes)} ms is shorter than {MIN_RUNTIME_SHARE:.0%} of the asked {asked_ms} ms"
            )
    return problems


def strerror(code: int) -> str:
    try:
        return os.strerror(code)
    except (ValueError, OverflowError):
        return "unknown error"
