"""Existing fio JSON/json+ outputs (fio 2.x and 3.x, standalone or client/server, text before the
JSON allowed) mapped onto cells and trials, so `iocompare import` can store them as a run, or as
another environment of an imported run.

The job's shape comes from the options fio echoes in its output ("global options" overlaid by
each job's "job options"): rw (+ rwmixread) -> pattern, bs, iodepth, numjobs, ioengine, direct,
runtime/time_based, ramp_time, size, randseed. What the options do not say is taken from fio's
defaults where fio documents one (iodepth 1, numjobs 1, direct 0, ramp_time 0), derived from the
results where they determine it (block size = bytes / IOs; runtime = fio's measured runtime when
the job was not time_based), and otherwise named as unknown in the environment's facts.

A cell is identified by every option that changes the workload (fio_options.WorkloadIdentity):
trials of equal identity share a cell, in one import and across imports into the same run; any
difference makes another cell. In one file, job entries of the same shape and group are one trial
(numjobs without group_reporting, several clients); entries of different shapes become trials of
different cells. A file that cannot be read, is not fio JSON, holds a number that cannot be true,
reports a fio error, completed no IO or was already imported into the run is rejected with one
line saying why. Details: docs/export.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iocompare.engines.fio_fields import MAX_NUMBER, integer, number
from iocompare.engines.fio_options import (
    JOB_OPTIONS_FACT,
    WorkloadIdentity,
    direct_of,
    flag,
    identity_of,
    options_fact,
)
from iocompare.engines.fio_parse import ALL_CLIENTS_JOBNAME, decode_document, parse_document, strerror
from iocompare.errors import FioOutputError
from iocompare.facts import registry as fk
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
MAX_SECONDS = 10 * 365 * 86400  # a runtime or ramp beyond ten years is not a benchmark


class ImportRejected(Exception):
    """One file cannot become a trial; the message says why."""


@dataclass(frozen=True)
class ImportedTrial:
    source: Path
    cell: Cell
    identity: WorkloadIdentity
    result: FioResult
    raw: str
    seed: int
    started_at: float
    ended_at: float
    facts: dict[str, str]


@dataclass(frozen=True)
class ExistingRun:
    """An imported run the files join: its cells by identity, its keys, the files it holds by content."""

    name: str
    cells: Mapping[WorkloadIdentity, Cell] = field(default_factory=dict)
    keys: frozenset[str] = frozenset()
    contents: Mapping[str, str] = field(default_factory=dict)  # sha256 of a file's text -> that file


@dataclass
class ImportPlan:
    trials: list[ImportedTrial] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "path: reason", one per rejected file
    unknown: set[str] = field(default_factory=set)  # what no file said
    derived: set[str] = field(default_factory=set)  # what came from results or fio defaults

    @property
    def cells(self) -> list[Cell]:
        return list(dict.fromkeys(t.cell for t in self.trials))


def _seconds(text: str, key: str) -> float:
    match = _TIME.match(text)
    if not match:
        raise ImportRejected(f"{key}={text!r}: time value not understood")
    unit = match.group(2).lower() if match.group(2) else None
    seconds = float(match.group(1)) * _TIME_FACTOR[unit]
    if seconds > MAX_SECONDS:
        raise ImportRejected(f"{key}={text!r} is out of range (at most {MAX_SECONDS} s)")
    return seconds


def _int(options: Mapping[str, str], key: str, default: int) -> int:
    text = options.get(key)
    if text is None:
        return default
    try:
        value = int(parse_size(text.strip()))
    except ValueError:
        raise ImportRejected(f"{key}={text!r} is not a number") from None
    if value > MAX_NUMBER:
        raise ImportRejected(f"{key}={text!r} is out of range (at most {MAX_NUMBER})")
    return value


def _pattern(options: Mapping[str, str]) -> tuple[Pattern, int | None]:
    rw = options.get("rw", options.get("readwrite", "read")).split(":")[0].strip().lower()
    if rw not in _RW:
        raise ImportRejected(
            f"rw={rw!r} is not a pattern iocompare compares (read, write, randread, randwrite, rw, randrw)"
        )
    pattern = _RW[rw]
    if pattern is Pattern.SEQ_WRITE and (flag(options, "fdatasync") or flag(options, "fsync")):
        pattern = Pattern.FSYNC_PROBE
    read_percent = None
    if pattern.mixed:
        if "rwmixread" in options:
            read_percent = _int(options, "rwmixread", 50)
        elif "rwmixwrite" in options:
            read_percent = 100 - _int(options, "rwmixwrite", 50)
        else:
            read_percent = 50  # fio's default mix
        if not 0 <= read_percent <= 100:
            raise ImportRejected(f"rwmixread={read_percent} is not a percentage")
    return pattern, read_percent


def _block_size(options: Mapping[str, str], pattern: Pattern, result: FioResult, derived: set[str]) -> int:
    text = options.get("bs", options.get("blocksize"))
    if text and not any(k in options for k in ("bsrange", "bssplit", "blocksize_range")):
        parts = [p.strip() for p in text.split(",")]
        reads, writes = (parts[0] or None), (parts[1] if len(parts) > 1 and parts[1] else parts[0])
        try:
            sizes = {
                parse_size(s) for s in ((reads,) if pattern.reads else ()) + ((writes,) if pattern.writes else ()) if s
            }
        except ValueError:
            raise ImportRejected(f"bs={text!r} is not a block size") from None
        if 0 in sizes:
            raise ImportRejected(f"bs={text!r}: a block size of 0 bytes")
        if any(size > MAX_NUMBER for size in sizes):
            raise ImportRejected(f"bs={text!r} is out of range (at most {MAX_NUMBER})")
        if len(sizes) == 1:
            return sizes.pop()
        if len(sizes) > 1:
            raise ImportRejected(f"bs={text!r}: different read and write block sizes are not one cell")
    sides = [d for d in (result.read, result.write) if d is not None and d.total_ios > 0]
    if not sides:
        raise ImportRejected("no block size in the options and no IO to derive one from")
    derived.add("block size (bytes / IOs)")
    return max(1, round(sum(d.io_bytes for d in sides) / sum(d.total_ios for d in sides)))


def _runtime(options: Mapping[str, str], result: FioResult, derived: set[str]) -> int:
    if flag(options, "time_based") and "runtime" in options:
        return max(1, round(_seconds(options["runtime"], "runtime")))
    derived.add("runtime (fio's measured runtime; the job was not time_based)")
    measured = max((d.runtime_ms for d in (result.read, result.write) if d is not None), default=0)
    return max(1, round(measured / 1000))


_SHAPE_KEYS = ("rw", "readwrite", "rwmixread", "rwmixwrite", "bs", "blocksize", "bsrange", "bssplit", "iodepth",
               "numjobs", "ioengine", "direct", "buffered", "fdatasync", "fsync", "sync", "time_based", "runtime",
               "ramp_time", "size", "offset", "offset_increment", "filename", "directory")  # fmt: skip


def _shape(options: Mapping[str, str]) -> tuple[Any, ...]:
    return tuple(options.get(k) for k in _SHAPE_KEYS)


def _entries(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "client_stats" in document:
        return [e for e in document["client_stats"] if e.get("jobname") != ALL_CLIENTS_JOBNAME]
    return list(document.get("jobs") or [])


def _base_name(identity: WorkloadIdentity) -> str:
    """The workload's name: its pattern and queue, then every option that differs from iocompare's
    own job (libaio, O_DIRECT, no syncs, from offset 0), so the same shape gets the same name in
    every import."""
    name = identity.pattern.value + (f"-{identity.read_percent}" if identity.read_percent is not None else "")
    name += f"-qd{identity.iodepth}" + (f"x{identity.numjobs}" if identity.numjobs > 1 else "")
    if identity.ioengine not in ("libaio", DEFAULT_IOENGINE):
        name += f"-{identity.ioengine}"
    if not identity.direct:
        name += "-buffered"
    probe_default = identity.pattern is Pattern.FSYNC_PROBE and identity.fdatasync == 1
    if identity.fdatasync and not probe_default:
        name += f"-fdatasync{identity.fdatasync}"
    if identity.fsync:
        name += f"-fsync{identity.fsync}"
    if identity.sync != "none":
        name += f"-{identity.sync}" if identity.sync != "sync" else "-osync"
    if identity.offset != "0":
        name += f"-at{identity.offset}"
    return name


def _workload(identity: WorkloadIdentity) -> str:
    return _base_name(identity) + (f"-{identity.clients}clients" if identity.clients > 1 else "")


def _disk_util_facts(document: Mapping[str, Any]) -> dict[str, str]:
    """fio's disk_util of the first (top) device: requests the device saw, merges included, so an
    IO merged into another still counts. Only for one fio process (a client's devices are its own)."""
    util = document.get("disk_util")
    if "client_stats" in document or not isinstance(util, list) or not util or not isinstance(util[0], dict):
        return {}
    top = util[0]
    where = "disk_util[0]"
    reads = integer(top, "read_ios", where) + integer(top, "read_merges", where, default=0)
    writes = integer(top, "write_ios", where) + integer(top, "write_merges", where, default=0)
    return {
        fk.DISK_UTIL_DEVICE.name: str(top.get("name", "")),
        fk.DISK_READ_REQUESTS.name: str(reads),
        fk.DISK_WRITE_REQUESTS.name: str(writes),
    }


def _storage_facts(options: Mapping[str, str]) -> dict[str, str]:
    """What the job says of the storage path: the file or device, O_DIRECT, the engine, syncs."""
    facts: dict[str, str] = {}
    target = options.get("filename") or options.get("directory")
    if target:
        facts[fk.TARGET_PATH.name] = target
        if target.startswith("/dev/") and ":" not in target:
            facts[fk.TARGET_DEVICE.name] = target
    facts[fk.JOB_DIRECT.name] = "yes" if direct_of(options) else "no"
    facts[fk.JOB_IOENGINE.name] = options.get("ioengine", DEFAULT_IOENGINE)
    for key, option in ((fk.JOB_FSYNC, "fsync"), (fk.JOB_FDATASYNC, "fdatasync"), (fk.JOB_SYNC, "sync")):
        if option in options:
            facts[key.name] = options[option] or "1"
    return facts


def _file_trials(path: Path, text: str, plan: ImportPlan) -> list[ImportedTrial]:
    document = decode_document(text)
    if "fio version" not in document:
        raise ImportRejected("not fio output: no 'fio version'")
    globals_ = {str(k): str(v) for k, v in (document.get("global options") or {}).items()}
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for entry in _entries(document):
        if not isinstance(entry, dict):
            raise ImportRejected("a job entry is not an object")
        options = {**globals_, **{str(k): str(v) for k, v in (entry.get("job options") or {}).items()}}
        groups.setdefault((entry.get("groupid", 0), _shape(options)), []).append(entry)
    if not groups:
        raise ImportRejected("fio output lists no jobs")
    stamp = number(document, "timestamp", "", default=0) or os.stat(path).st_mtime
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    device = _disk_util_facts(document)
    trials = []
    for entries in groups.values():
        options = {**globals_, **{str(k): str(v) for k, v in (entries[0].get("job options") or {}).items()}}
        pattern, read_percent = _pattern(options)
        key = "client_stats" if "client_stats" in document else "jobs"
        sub = {"fio version": document["fio version"], key: entries}
        parsed = parse_document(sub)
        result = parsed.result
        names = ", ".join(sorted({str(e.get("jobname")) for e in entries}))
        if result.error:
            raise ImportRejected(f"fio reported error {result.error} ({strerror(result.error)}) in job {names!r}")
        if all(d is None or d.io_bytes == 0 for d in (result.read, result.write)):
            raise ImportRejected(f"job {names!r} completed no IO")
        iodepth = _int(options, "iodepth", 1)
        numjobs = max(_int(options, "numjobs", 1), len(entries) if "client_stats" not in document else 1)
        if iodepth < 1 or numjobs < 1:
            raise ImportRejected(f"iodepth={iodepth}, numjobs={numjobs}: both must be at least 1")
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
        cell = Cell(
            workload="",
            pattern=pattern,
            block_size_bytes=_block_size(options, pattern, result, plan.derived),
            iodepth=iodepth,
            numjobs=numjobs,
            read_percent=read_percent,
            ioengine=ioengine,
            direct=direct_of(options),
            runtime_s=_runtime(options, result, plan.derived),
            ramp_s=round(_seconds(options["ramp_time"], "ramp_time")) if "ramp_time" in options else 0,
            working_set_bytes=size,
        )
        identity = identity_of(cell, options, clients=max(1, len(clients)))
        cell = dataclasses.replace(cell, workload=_workload(identity))
        # The parser checks the result against the cell (directions the pattern must show, runtime).
        parsed = parse_document(sub, cell=cell)
        seed = options.get("randseed", "0")
        if seed.isdigit() and int(seed) > MAX_NUMBER:
            raise ImportRejected(f"randseed={seed!r} is out of range (at most {MAX_NUMBER})")
        runtime = max((d.runtime_ms for d in (parsed.result.read, parsed.result.write) if d is not None), default=0)
        facts = {"import_file": str(path), "import_jobs": names, fk.IMPORT_SHA256.name: digest,
                 fk.PERCENTILE_SOURCE.name: parsed.percentile_source.value, JOB_OPTIONS_FACT: options_fact(options),
                 **_storage_facts(options), **device}  # fmt: skip
        hosts = sorted({str(e["hostname"]) for e in entries if e.get("hostname")})
        if hosts:
            facts["fio_clients"] = ", ".join(hosts)
        trials.append(
            ImportedTrial(
                path,
                cell,
                identity,
                parsed.result,
                text,
                int(seed) if seed.isdigit() else 0,
                stamp - runtime / 1000,
                stamp,
                facts,
            )
        )
    return trials


def _digest(identity: WorkloadIdentity) -> str:
    return hashlib.sha256(identity.key().encode()).hexdigest()[:6]


def assign_cells(trials: Sequence[ImportedTrial], into: ExistingRun) -> list[ImportedTrial]:
    """Each trial onto its cell: the run's cell of the same identity, else a new cell whose key is
    free (a shape sharing its name with another gets a digest of its identity appended)."""
    by_identity: dict[WorkloadIdentity, Cell] = dict(into.cells)
    taken = set(into.keys)
    out = []
    for t in trials:
        cell = by_identity.get(t.identity)
        if cell is None:
            cell = t.cell
            if cell.key in taken:
                cell = dataclasses.replace(cell, workload=f"{cell.workload}-{_digest(t.identity)}")
            by_identity[t.identity] = cell
            taken.add(cell.key)
        out.append(dataclasses.replace(t, cell=cell))
    return out


def read_files(paths: Sequence[Path], *, into: ExistingRun | None = None) -> ImportPlan:
    """Every file parsed and mapped; rejected files collected in `errors`, in argument order."""
    plan = ImportPlan()
    existing = into or ExistingRun(name="")
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
            trials = _file_trials(Path(path), text, plan)
            digest = trials[0].facts[fk.IMPORT_SHA256.name]
            if digest in existing.contents:
                raise ImportRejected(
                    f"already imported into run {existing.name} (the same content as {existing.contents[digest]})"
                )
            if digest in seen:
                raise ImportRejected(f"the same content as {seen[digest]}, given before it")
            seen[digest] = Path(path)
            plan.trials += trials
        except (ImportRejected, FioOutputError) as exc:
            plan.errors.append(f"{path}: {exc}")
        except UnicodeDecodeError:
            plan.errors.append(f"{path}: not a text file (fio JSON is UTF-8 text)")
        except OSError as exc:
            plan.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        except ValueError as exc:  # a size or number fio would not have written
            plan.errors.append(f"{path}: {exc}")
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            # A document fio would not have written (a table where a value belongs): as the parser says it.
            plan.errors.append(f"{path}: fio output has an unexpected shape: {exc!r}")
    ordered = sorted(plan.trials, key=lambda t: (t.started_at, str(t.source)))
    plan.trials = assign_cells(ordered, existing)
    return plan
