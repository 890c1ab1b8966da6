"""Parse fio 3.x `--output-format=json` / `json+` output into an iocompare FioResult.

Shapes handled:
- standalone: `{"fio version", "jobs": [...]}`, one entry per job, or one per group with
  group_reporting;
- client/server: `{"fio version", "client_stats": [...]}`, one entry per job and client, plus an
  aggregate entry named "All clients" when several clients ran; the aggregate is skipped so
  nothing is counted twice (it has no histogram bins anyway).

fio may print text before the JSON (warnings, and in client mode the clients' console lines,
prefixed with `<host>`), so the document is decoded from its first line that starts with `{`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from iocompare.errors import FioOutputError
from iocompare.model import Cell, DirectionResult, FioResult, Pattern, Percentiles

ALL_CLIENTS_JOBNAME = "All clients"
REPORTED_PERCENTILES = (50.0, 99.0, 99.9)
MIN_RUNTIME_SHARE = 0.95
_SUMMED_COUNTERS = ("io_bytes", "total_ios", "short_ios", "drop_ios")
_JSON_START = re.compile(r"^\{", re.MULTILINE)

Job = Mapping[str, Any]


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


def parse_fio_output(text: str, *, cell: Cell | None = None) -> FioResult:
    """Parse fio's json/json+ output. With `cell`, also check the run against what it asked for."""
    document = _decode(text)
    try:
        return _build_result(document, cell)
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
    if not isinstance(document, dict):
        raise FioOutputError(f"fio output is JSON but not an object: {_snippet(text[start:])}")
    return document


def _snippet(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return repr(first[:80])


def _job_entries(document: Mapping[str, Any]) -> list[Job]:
    if "client_stats" in document:
        entries = [e for e in document["client_stats"] if e.get("jobname") != ALL_CLIENTS_JOBNAME]
    elif "jobs" in document:
        entries = list(document["jobs"])
    else:
        raise FioOutputError("fio output has neither 'jobs' nor 'client_stats'")
    if not entries:
        raise FioOutputError("fio output lists no jobs")
    for index, job in enumerate(entries):
        for key in ("error", "usr_cpu", "sys_cpu", "read", "write"):
            if key not in job:
                raise FioOutputError(f"fio job entry {index} ({job.get('jobname')!r}) lacks {key!r}")
    return entries


def _build_result(document: Mapping[str, Any], cell: Cell | None) -> FioResult:
    if "fio version" not in document:
        raise FioOutputError("fio output lacks 'fio version'")
    jobs = _job_entries(document)
    misfiled = [_misfiled_datasyncs(job) for job in jobs]
    raw = {
        "read": [_counters(job["read"], minus_short=m) for job, m in zip(jobs, misfiled, strict=False)],
        "write": [_counters(job["write"], minus_short=0) for job in jobs],
    }
    expected = _expected_directions(cell)
    directions: dict[str, DirectionResult | None] = {}
    for ddir in ("read", "write"):
        sections = [job[ddir] for job in jobs]
        present = expected.get(ddir, False) or sum(c["total_ios"] for c in raw[ddir]) > 0
        directions[ddir] = _direction(sections, raw[ddir]) if present else None

    sync_sections = [job["sync"]["lat_ns"] for job in jobs if "sync" in job and "lat_ns" in job["sync"]]
    sync = _percentiles(sync_sections) if sum(s.get("N", 0) for s in sync_sections) > 0 else None
    error = max(int(job["error"]) for job in jobs)
    result = FioResult(
        fio_version=str(document["fio version"]),
        read=directions["read"],
        write=directions["write"],
        sync=sync,
        cpu_usr_pct=sum(float(job["usr_cpu"]) for job in jobs) / len(jobs),
        cpu_sys_pct=sum(float(job["sys_cpu"]) for job in jobs) / len(jobs),
        error=error,
        job_count=len(jobs),
    )
    return dataclasses.replace(result, problems=tuple(_problems(result, expected, cell)))


def _misfiled_datasyncs(job: Job) -> int:
    """fio 3.33 counts fdatasync calls in an array slot that is read's `short_ios`.

    Seen in real output: with fdatasync=1 the JSON shows `sync.total_ios` = 0 and
    `read.short_ios` = number of fdatasyncs (= `sync.lat_ns.N`); with fsync=1 the count is in
    `sync.total_ios` and `read.short_ios` is 0. Those are not short reads, so they are taken
    back out; when the shape differs (a fixed fio) nothing is subtracted.
    """
    sync = job.get("sync") or {}
    synced = int((sync.get("lat_ns") or {}).get("N", 0))
    if synced > 0 and int(sync.get("total_ios", 0)) == 0 and int(job["read"]["short_ios"]) >= synced:
        return synced
    return 0


def _counters(section: Mapping[str, Any], *, minus_short: int) -> dict[str, int]:
    counters = {key: int(section[key]) for key in _SUMMED_COUNTERS}
    counters["short_ios"] -= minus_short
    return counters


def _expected_directions(cell: Cell | None) -> dict[str, bool]:
    """Directions the cell's pattern must produce IO in (a 100/0 mix expects only one)."""
    if cell is None:
        return {}
    pattern: Pattern = cell.pattern
    reads, writes = pattern.reads, pattern.writes
    if pattern.mixed and cell.read_percent is not None:
        reads, writes = cell.read_percent > 0, cell.read_percent < 100
    return {"read": reads, "write": writes}


def _direction(sections: Sequence[Mapping[str, Any]], counters: Sequence[Mapping[str, int]]) -> DirectionResult:
    latencies = [s["lat_ns"] for s in sections if int(s["lat_ns"].get("N", 0)) > 0]
    samples = sum(int(lat["N"]) for lat in latencies)
    return DirectionResult(
        io_bytes=sum(c["io_bytes"] for c in counters),
        bw_bps=sum(float(s["bw_bytes"]) for s in sections),
        iops=sum(float(s["iops"]) for s in sections),
        runtime_ms=max(int(s["runtime"]) for s in sections),
        total_ios=sum(c["total_ios"] for c in counters),
        short_ios=sum(c["short_ios"] for c in counters),
        drop_ios=sum(c["drop_ios"] for c in counters),
        # A mean over jobs is only right when each job's mean is weighted by its IO count.
        lat_mean_ns=sum(float(lat["mean"]) * int(lat["N"]) for lat in latencies) / samples if samples else None,
        lat_min_ns=float(min(lat["min"] for lat in latencies)) if latencies else None,
        lat_max_ns=float(max(lat["max"] for lat in latencies)) if latencies else None,
        lat=_percentiles([s["lat_ns"] for s in sections]),
        clat=_percentiles([s["clat_ns"] for s in sections if "clat_ns" in s]),
    )


def _percentiles(stats: Sequence[Mapping[str, Any]]) -> Percentiles:
    """Percentiles of one latency kind over all jobs: merged bins, else fio's own numbers.

    fio's `percentile` dict is per entry, and percentiles of several entries cannot be combined;
    without bins it is only used when a single entry has samples (one job or group_reporting).
    """
    with_samples = [s for s in stats if int(s.get("N", 0)) > 0]
    if not with_samples:
        return Percentiles()
    if all("bins" in s for s in with_samples):
        merged: Counter[int] = Counter()
        for s in with_samples:
            for value, count in s["bins"].items():
                merged[int(value)] += int(count)
        if sum(merged.values()) > 0:
            p50, p99, p999 = (percentile_from_bins(merged, q) for q in REPORTED_PERCENTILES)
            return Percentiles(p50_ns=p50, p99_ns=p99, p999_ns=p999)
    if len(with_samples) == 1 and "percentile" in with_samples[0]:
        # Keys are formatted "%f" ("99.900000"); compare as numbers, not strings.
        by_q = {float(key): float(value) for key, value in with_samples[0]["percentile"].items()}
        f50, f99, f999 = (by_q.get(q) for q in REPORTED_PERCENTILES)
        return Percentiles(p50_ns=f50, p99_ns=f99, p999_ns=f999)
    return Percentiles()


def _problems(result: FioResult, expected: Mapping[str, bool], cell: Cell | None) -> list[str]:
    problems: list[str] = []
    if result.error:
        problems.append(f"fio reported error {result.error} ({os.strerror(result.error)})")
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
        if runtimes and max(runtimes) < MIN_RUNTIME_SHARE * asked_ms:
            problems.append(
                f"runtime {max(runtimes)} ms is shorter than {MIN_RUNTIME_SHARE:.0%} of the asked {asked_ms} ms"
            )
    return problems
