"""Builders of stored runs for the analysis tests (real records, no database)."""

from __future__ import annotations

import dataclasses
from typing import Any

from builders import make_cell, make_direction, make_result, make_trial

from iocompare.model import Cell, FioResult, Pattern, Percentiles, Sample, TrialStatus
from iocompare.store.records import RunInfo, RunStatus, StoredRun, StoredTrial

MiB = 1 << 20
GiB = 1 << 30

HOST_FACTS = {"kernel": "6.1.0", "memory_bytes": str(16 * GiB)}
DISK_FACTS = {"fs_type": "ext4", "device": "nvme0n1", "logical_block_size": "512"}

QD1_CELL = make_cell(workload="rand-read-qd1", iodepth=1)
PROBE_CELL = make_cell(workload="fsync-probe", pattern=Pattern.FSYNC_PROBE, iodepth=1)


def seq_write_cell(block: int = 1 << 20) -> Cell:
    return make_cell(workload="seq-write", pattern=Pattern.SEQ_WRITE, block_size_bytes=block, iodepth=16)


def result_for(
    cell: Cell, bw_bps: float, *, clat_p50_ns: float = 80_000.0, sync_p50_ns: float | None = None, **overrides: Any
) -> FioResult:
    """A plausible result of `cell` at a total bandwidth, split 70/30 for mixed patterns."""
    iops = bw_bps / cell.block_size_bytes
    lat = Percentiles(clat_p50_ns, clat_p50_ns * 3, clat_p50_ns * 8)
    share = 0.7 if cell.pattern.mixed else 1.0
    read = (
        make_direction(iops=iops * share, block_size_bytes=cell.block_size_bytes, clat=lat, lat=lat)
        if cell.pattern.reads
        else None
    )
    wiops = iops * (1 - share) if cell.pattern.mixed else iops
    write = (
        make_direction(iops=wiops, block_size_bytes=cell.block_size_bytes, clat=lat, lat=lat)
        if cell.pattern.writes
        else None
    )
    sync = Percentiles(sync_p50_ns, sync_p50_ns * 2, sync_p50_ns * 4) if sync_p50_ns is not None else None
    return dataclasses.replace(make_result(), read=read, write=write, sync=sync, **overrides)


def device_sample(result: FioResult, *, read_share: float = 1.1, write_share: float = 1.1) -> list[Sample]:
    rb = result.read.io_bytes if result.read else 0
    wb = result.write.io_bytes if result.write else 0
    return [
        Sample(0.0, 10.0, None, 0, 0, 100 * GiB),
        Sample(30.0, 12.0, 90.0, int(rb * read_share), int(wb * write_share), 100 * GiB),
    ]


class RunBuilder:
    def __init__(
        self,
        environments: dict[str, tuple[str, dict[str, str]]] | None = None,
        host_facts: dict[str, str] | None = None,
    ) -> None:
        self.environments = environments or {"host": ("host", dict(DISK_FACTS))}
        self.host_facts = host_facts or dict(HOST_FACTS)
        self.cells: list[Cell] = []
        self.trials: list[StoredTrial] = []
        self.samples: dict[int, list[Sample]] = {}

    def add(
        self,
        cell: Cell,
        env: str,
        result: FioResult | None,
        *,
        status: TrialStatus = TrialStatus.OK,
        reason: str | None = None,
        facts: dict[str, str] | None = None,
        samples: list[Sample] | None = None,
    ) -> RunBuilder:
        if cell not in self.cells:
            self.cells.append(cell)
        index = len(self.trials)
        trial = make_trial(index, cell=cell, environment=env)
        trial_facts = {**self.environments[env][1], **(facts or {})}
        exit_code = 0 if status is TrialStatus.OK else 1  # a measured trial: fio's exit status is known
        self.trials.append(
            StoredTrial(index + 1, trial, status, reason, 0.0, 1.0, 1.0, trial_facts, result, fio_exit_code=exit_code)
        )
        if samples is not None:
            self.samples[index + 1] = samples
        elif result is not None:
            self.samples[index + 1] = device_sample(result)
        return self

    def add_values(self, cell: Cell, env: str, bws: list[float], **kwargs: Any) -> RunBuilder:
        for bw in bws:
            self.add(cell, env, result_for(cell, bw, **kwargs))
        return self

    def build(self) -> StoredRun:
        info = RunInfo(
            1,
            "run-1",
            0.0,
            1.0,
            RunStatus.COMPLETE,
            "test",
            tuple(self.environments),
            len(self.trials),
            len(self.trials),
        )
        return StoredRun(
            info, {}, "{}", dict(self.host_facts), dict(self.environments), list(self.cells), list(self.trials)
        )


def with_problems(result: FioResult, *problems: str) -> FioResult:
    return dataclasses.replace(result, problems=tuple(problems))
