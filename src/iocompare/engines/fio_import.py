"""Existing fio JSON/json+ outputs (fio 3.x, standalone or client/server, text before the JSON
allowed) mapped onto cells and trials, so `iocompare import` can store them as a run.

The job's shape comes from the options fio echoes in its output ("global options" overlaid by
each job's "job options"): rw (+ rwmixread) -> pattern, bs, iodepth, numjobs, ioengine, direct,
runtime/time_based, ramp_time, size, randseed. What the options do not say is taken from fio's
defaults where fio documents one (iodepth 1, numjobs 1, direct 0, ramp_time 0), derived from the
results where they determine it (block size = bytes / IOs; runtime = fio's measured runtime when
the job was not time_based), and otherwise named as unknown in the environment's facts.

In one file, job entries of the same shape and group are one trial (numjobs without
group_reporting, several clients); entries of different shapes become trials of different cells.
A file that cannot be read, is not fio JSON, reports a fio error or completed no IO is rejected
with one line saying why. Details: docs/export.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iocompare.engines.fio_parse import (
    ALL_CLIENTS_JOBNAME,
    decode_document,
    parse_fio_output,
)
from iocompare.errors import FioOutputError
from iocompare.model import Cell, FioResult, Pattern
from iocompare.units import parse_size

_RW = {
    "read": Pattern.SEQ_READ, "write": Pattern.SEQ_WRITE, "randread": Pattern.RAND_READ,
    "randwrite": Pattern.RAND_WRITE, "randrw": Pattern.MIXED_RAND, "rw": Pattern.MIXED_SEQ,
    "readwrite": Pattern.MIXED_SEQ,
}  # fmt: skip
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|usec|ms|msec|s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_TIME_FACTOR = {
    "us": 1e-6,
    "usec": 1e-6,
    "ms": 1e-3,
    "msec": 1e-3,
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    None: 1,
}
DEFAULT_IOENGINE = "default (not in the file)"


class ImportRejected(Exception):
    """One file cannot become a trial; the message says why."""


@dataclass(frozen=True)
class ImportedTrial:
    source: Path
    cell: Cell
    result: FioResult
    raw: str
    seed: int
    started_at: float
    ended_at: float
    facts: dict[str, str]


@dataclass
class ImportPlan:
    trials: list[ImportedTrial] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "path: reason", one per rejected file
    unknown: set[str] = field(default_factory=set)  # what no file said
    derived: set[str] = field(default_factory=set)  # what came from results or fio defaults

    @property
    def cells(self) -> list[Cell]:
        return list(dict.fromkeys(t.cell for t in self.trials))


def _seconds(text: str) -> float:
    match = _TIME.match(text)
    if not match:
        raise ImportRejected(f"time value {text!r} not understood")
    unit = match.group(2).lower() if match.group(2) else None
    return float(match.group(1)) * _TIME_FACTOR[unit]


def _flag(options: Mapping[str, str], key: str) -> bool:
    value = options.get(key)
    return value is not None and value.strip() not in ("0", "false")  # fio echoes a bare flag as ""


def _int(options: Mapping[str, str], key: str, default: int) -> int:
    text = options.get(key)
    if text is None:
        return default
    try:
        return int(parse_size(text.strip()))
    except ValueError:
        raise ImportRejected(f"{key}={text!r} is not a number") from None


def _pattern(options: Mapping[str, str]) -> tuple[Pattern, int | None]:
    rw = options.get("rw", options.get("readwrite", "read")).split(":")[0].strip().lower()
    if rw not in _RW:
        raise ImportRejected(
            f"rw={rw!r} is not a pattern iocompare compares (read, write, randread, randwrite, rw, randrw)"
        )
    pattern = _RW[rw]
    if pattern is Pattern.SEQ_WRITE and (_flag(options, "fdatasync") or _flag(options, "fsync")):
        pattern = Pattern.FSYNC_PROBE
    read_percent = None
    if pattern.mixed:
        if "rwmixread" in options:
            read_percent = _int(options, "rwmixread", 50)
        elif "rwmixwrite" in options:
            read_percent = 100 - _int(options, "rwmixwrite", 50)
        else:
            read_percent = 50  # fio's default mix
    return pattern, read_percent


def _block_size(options: Mapping[str, str], pattern: Pattern, result: FioResult, derived: set[str]) -> int:
    text = options.get("bs", options.get("blocksize"))
    if text and not any(k in options for k in ("bsrange", "bssplit", "blocksize_range")):
        parts = [p.strip() for p in text.split(",")]
        reads, writes = (parts[0] or None), (parts[1] if len(parts) > 1 and parts[1] else parts[0])
        sizes = {
            parse_size(s) for s in ((reads,) if pattern.reads else ()) + ((writes,) if pattern.writes else ()) if s
        }
        if len(sizes) == 1:
            return sizes.pop()
        if len(sizes) > 1:
            raise ImportRejected(f"bs={text!r}: different read and write block sizes are not one cell")
    sides = [d for d in (result.read, result.write) if d is not None and d.total_ios > 0]
    if not sides:
        raise ImportRejected("no block size in the options and no IO to derive one from")
    derived.add("block size (bytes / IOs)")
    return round(sum(d.io_bytes for d in sides) / sum(d.total_ios for d in sides))


def _runtime(options: Mapping[str, str], result: FioResult, derived: set[str]) -> int:
    if _flag(options, "time_based") and "runtime" in options:
        return max(1, round(_seconds(options["runtime"])))
    derived.add("runtime (fio's measured runtime; the job was not time_based)")
    measured = max((d.runtime_ms for d in (result.read, result.write) if d is not None), default=0)
    return max(1, round(measured / 1000))


def _shape(options: Mapping[str, str]) -> tuple[Any, ...]:
    keys = ("rw", "readwrite", "rwmixread", "rwmixwrite", "bs", "blocksize", "bsrange", "bssplit", "iodepth", "numjobs",
            "ioengine", "direct", "fdatasync", "fsync", "time_based", "runtime", "ramp_time", "size")  # fmt: skip
    return tuple(options.get(k) for k in keys)


def _entries(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "client_stats" in document:
        return [e for e in document["client_stats"] if e.get("jobname") != ALL_CLIENTS_JOBNAME]
    return list(document.get("jobs") or [])


def _workload(pattern: Pattern, read_percent: int | None, iodepth: int, numjobs: int) -> str:
    name = pattern.value + (f"-{read_percent}" if read_percent is not None else "") + f"-qd{iodepth}"
    return name + (f"x{numjobs}" if numjobs > 1 else "")


def _file_trials(path: Path, text: str, plan: ImportPlan) -> list[ImportedTrial]:
    document = decode_document(text)
    if "fio version" not in document:
        raise ImportRejected("not fio output: no 'fio version'")
    globals_ = {str(k): str(v) for k, v in (document.get("global options") or {}).items()}
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for entry in _entries(document):
        options = {**globals_, **{str(k): str(v) for k, v in (entry.get("job options") or {}).items()}}
        groups.setdefault((entry.get("groupid", 0), _shape(options)), []).append(entry)
    if not groups:
        raise ImportRejected("fio output lists no jobs")
    stamp = float(document.get("timestamp") or os.stat(path).st_mtime)
    trials = []
    for entries in groups.values():
        options = {**globals_, **{str(k): str(v) for k, v in (entries[0].get("job options") or {}).items()}}
        pattern, read_percent = _pattern(options)
        sub = {"fio version": document["fio version"], "jobs": entries}
        result = parse_fio_output(json.dumps(sub))
        names = ", ".join(sorted({str(e.get("jobname")) for e in entries}))
        if result.error:
            raise ImportRejected(f"fio reported error {result.error} ({os.strerror(result.error)}) in job {names!r}")
        if all(d is None or d.io_bytes == 0 for d in (result.read, result.write)):
            raise ImportRejected(f"job {names!r} completed no IO")
        iodepth = _int(options, "iodepth", 1)
        numjobs = max(_int(options, "numjobs", 1), len(entries) if "client_stats" not in document else 1)
        if "iodepth" not in options:
            plan.derived.add("iodepth (fio default 1)")
        ioengine = options.get("ioengine", DEFAULT_IOENGINE)
        if "ioengine" not in options:
            plan.unknown.add("ioengine")
        size_text = options.get("size", "").strip()
        size = _int(options, "size", 0) if size_text and not size_text.endswith("%") else 0
        if size == 0:
            plan.unknown.add("working set size")
        clients = {(e.get("hostname"), e.get("port")) for e in entries if e.get("hostname")}
        workload = _workload(pattern, read_percent, iodepth, numjobs) + (
            f"-{len(clients)}clients" if len(clients) > 1 else ""
        )
        cell = Cell(
            workload=workload,
            pattern=pattern,
            block_size_bytes=_block_size(options, pattern, result, plan.derived),
            iodepth=iodepth,
            numjobs=numjobs,
            read_percent=read_percent,
            ioengine=ioengine,
            direct=_flag(options, "direct"),
            runtime_s=_runtime(options, result, plan.derived),
            ramp_s=round(_seconds(options["ramp_time"])) if "ramp_time" in options else 0,
            working_set_bytes=size,
        )
        # The parser checks the result against the cell (directions the pattern must show, runtime).
        result = parse_fio_output(json.dumps(sub), cell=cell)
        seed = options.get("randseed", "0")
        runtime = max((d.runtime_ms for d in (result.read, result.write) if d is not None), default=0) / 1000
        facts = {"import_file": str(path), "import_jobs": names}
        hosts = sorted({str(e["hostname"]) for e in entries if e.get("hostname")})
        if hosts:
            facts["fio_clients"] = ", ".join(hosts)
        if "filename" in options or "directory" in options:
            facts["target_path"] = options.get("filename") or options["directory"]
        trials.append(
            ImportedTrial(path, cell, result, text, int(seed) if seed.isdigit() else 0, stamp - runtime, stamp, facts)
        )
    return trials


def _distinct_keys(trials: list[ImportedTrial]) -> list[ImportedTrial]:
    """Cells whose keys collide (same workload and block size, different engine, mode or runtime)
    get a suffix, so every shape keeps a cell of its own."""
    by_key: dict[str, list[Cell]] = {}
    for t in trials:
        cells = by_key.setdefault(t.cell.key, [])
        if t.cell not in cells:
            cells.append(t.cell)
    renamed = {}
    for cells in by_key.values():
        for i, cell in enumerate(cells[1:], start=2):
            renamed[cell] = dataclasses.replace(cell, workload=f"{cell.workload}-{i}")
    return [dataclasses.replace(t, cell=renamed.get(t.cell, t.cell)) for t in trials]


def read_files(paths: Sequence[Path]) -> ImportPlan:
    """Every file parsed and mapped; rejected files collected in `errors`, in argument order."""
    plan = ImportPlan()
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
            plan.trials += _file_trials(Path(path), text, plan)
        except (ImportRejected, FioOutputError) as exc:
            plan.errors.append(f"{path}: {exc}")
        except UnicodeDecodeError:
            plan.errors.append(f"{path}: not a text file (fio JSON is UTF-8 text)")
        except OSError as exc:
            plan.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        except ValueError as exc:  # a size or number fio would not have written
            plan.errors.append(f"{path}: {exc}")
    plan.trials = _distinct_keys(sorted(plan.trials, key=lambda t: (t.started_at, str(t.source))))
    return plan
