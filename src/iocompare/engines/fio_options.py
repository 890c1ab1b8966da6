"""fio job options as data: read from a job file or from what fio echoes in its JSON, kept with
each trial (the `job_options` fact of an import, the `fio_job` text of a run), and reduced to the
identity of a workload: the options that change what the device is asked to do.

Two trials are the same cell only when their identities are equal; `compare` lists every job
option that differs between two runs' cells.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from iocompare.model import Cell, Pattern
from iocompare.units import parse_size

JOB_OPTIONS_FACT = "job_options"  # imports: the echoed options, JSON object of strings
JOB_TEXT_FACT = "fio_job"  # runs: the rendered job file
# Options that differ in every trial without changing the workload.
VOLATILE_OPTIONS = frozenset({"randseed", "name", "description", "output", "write_bw_log", "write_iops_log",
                              "write_lat_log", "write_hist_log", "log_avg_msec", "per_job_logs"})  # fmt: skip


def parse_job_text(text: str) -> dict[str, str]:
    """Options of a fio job file, its `[global]` section overlaid by the job sections (bare flags as "")."""
    options: dict[str, str] = {}
    jobs: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        key, _, value = line.partition("=")
        (options if section == "global" else jobs)[key.strip()] = value.strip()
    return {**options, **jobs}


def options_fact(options: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(options.items())), separators=(",", ":"))


def options_from_facts(facts: Mapping[str, str]) -> dict[str, str] | None:
    """A trial's job options: the import's echoed options, else the run's job file, else None."""
    if JOB_OPTIONS_FACT in facts:
        try:
            loaded = json.loads(facts[JOB_OPTIONS_FACT])
        except ValueError:
            return None
        return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else None
    if JOB_TEXT_FACT in facts:
        return parse_job_text(facts[JOB_TEXT_FACT])
    return None


def flag(options: Mapping[str, str], key: str) -> bool:
    value = options.get(key)
    return value is not None and value.strip().lower() not in ("0", "false", "no", "off")  # a bare flag is ""


def direct_of(options: Mapping[str, str]) -> bool:
    """O_DIRECT: `direct=1`, or `buffered=0` (fio's inverse of direct); fio's default is buffered."""
    if "direct" in options:
        return flag(options, "direct")
    return "buffered" in options and not flag(options, "buffered")


def _count(options: Mapping[str, str], key: str) -> int:
    """fsync=N / fdatasync=N: a bare flag means 1."""
    value = options.get(key)
    if value is None:
        return 0
    text = value.strip()
    if text == "":
        return 1
    try:
        return int(parse_size(text))
    except ValueError:
        raise ValueError(f"{key}={value!r} is not a number") from None


def _sync_mode(options: Mapping[str, str]) -> str:
    value = options.get("sync")
    if value is None:
        return "none"
    text = value.strip().lower()
    if text in ("0", "none", "false"):
        return "none"
    return "sync" if text in ("", "1", "sync", "true") else text


def _amount(options: Mapping[str, str], key: str) -> str:
    text = options.get(key, "").strip()
    if not text:
        return "0" if key == "offset" else ""
    try:
        return str(parse_size(text))
    except ValueError:
        return text  # "100%" and the like: compared as written


@dataclass(frozen=True)
class WorkloadIdentity:
    """Everything that changes the workload; cells differ exactly when their identities differ."""

    pattern: Pattern
    read_percent: int | None
    block_size_bytes: int
    iodepth: int
    numjobs: int
    ioengine: str
    direct: bool
    fsync: int
    fdatasync: int
    sync: str
    size: str
    offset: str
    time_based: bool
    clients: int = 1  # fio client/server: several hosts run the job at once

    def key(self) -> str:
        """A stable text form, for digests and messages."""
        return (
            ";".join(f"{k}={v}" for k, v in sorted(vars(self).items()) if k != "pattern")
            + f";pattern={self.pattern.value}"
        )


def identity_of(cell: Cell, options: Mapping[str, str], *, clients: int = 1) -> WorkloadIdentity:
    """The cell's shape together with the options the cell has no field for."""
    return WorkloadIdentity(
        pattern=cell.pattern,
        read_percent=cell.read_percent,
        block_size_bytes=cell.block_size_bytes,
        iodepth=cell.iodepth,
        numjobs=cell.numjobs,
        ioengine=cell.ioengine,
        direct=cell.direct,
        fsync=_count(options, "fsync"),
        fdatasync=_count(options, "fdatasync"),
        sync=_sync_mode(options),
        size=_amount(options, "size") or str(cell.working_set_bytes),
        offset=_amount(options, "offset"),
        time_based=flag(options, "time_based"),
        clients=clients,
    )
