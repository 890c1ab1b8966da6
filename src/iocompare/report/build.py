"""The report view-model: one summary per cell and environment, built from a stored run.

Every renderer (terminal, Markdown, JSON) reads only this, so they always agree.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocompare.analysis.clock import without_coarse_latency
from iocompare.analysis.compare import Policy
from iocompare.analysis.crossover import design_of, diagnose, values_of
from iocompare.analysis.summary import Spread, median_or_none
from iocompare.model import Cell, DirectionResult, Sample, TrialStatus
from iocompare.report.analysis_view import AnalysisView, build_analysis
from iocompare.report.crossover_text import diagnosis_lines
from iocompare.store.records import StoredRun, StoredTrial, by_cell_and_environment

# Environment facts that differ per trial or are bulky, so they are not repeated per cell.
_PER_TRIAL_FACTS = frozenset({"fio_job"})


@dataclass(frozen=True)
class DirectionSummary:
    iops: Spread
    bw_bps: Spread
    lat_p50_ns: float | None
    lat_p99_ns: float | None
    lat_p999_ns: float | None
    clat_p50_ns: float | None
    clat_p99_ns: float | None
    clat_p999_ns: float | None


@dataclass(frozen=True)
class MonitorSummary:
    host_cpu_pct: float | None  # mean over the trial, median over trials
    env_cpu_pct: float | None  # CPU of fio / the VMM / the container, 100 = one core
    device_read_bytes: float | None
    device_write_bytes: float | None


@dataclass(frozen=True)
class CellSummary:
    cell: Cell
    environment: str
    n_ok: int
    n_total: int
    statuses: dict[str, int]
    reasons: tuple[str, ...]  # distinct reasons of failed, refused or not-applicable trials, and run problems
    total_iops: Spread | None
    total_bw_bps: Spread | None
    geomean_bw_bps: float | None  # the cell's one throughput figure in every format (docs/statistics.md)
    geomean_iops: float | None
    read: DirectionSummary | None
    write: DirectionSummary | None
    sync_p99_ns: float | None
    cpu_usr_pct: float | None
    cpu_sys_pct: float | None
    monitor: MonitorSummary
    labels: dict[str, str]  # facts attached to the cell's trials (e.g. working-set warnings)
    latency_note: str | None = None  # "not measurable (clock resolution ≈ 4.01 ms)": every latency is None


@dataclass(frozen=True)
class Report:
    run: StoredRun
    cells: tuple[Cell, ...]
    environments: tuple[str, ...]
    summaries: dict[tuple[str, str], CellSummary]  # (cell key, environment) -> summary
    analysis: AnalysisView  # verdicts against the baseline, artifact checks, stability warnings
    diagnosis: tuple[str, ...] = ()  # a cross-over diagnosis run's verdict lines (report/crossover_text.py)

    def summary(self, cell: Cell, environment: str) -> CellSummary | None:
        return self.summaries.get((cell.key, environment))


def geometric_mean(values: Sequence[float]) -> float | None:
    """Of the positive values (a zero has no logarithm; the comparisons drop it the same way)."""
    positive = [v for v in values if v > 0]
    return math.exp(statistics.fmean(math.log(v) for v in positive)) if positive else None


def _direction(results: Sequence[DirectionResult]) -> DirectionSummary | None:
    if not results:
        return None
    iops, bw_bps = Spread.of([r.iops for r in results]), Spread.of([r.bw_bps for r in results])
    assert iops is not None and bw_bps is not None  # results is not empty
    return DirectionSummary(
        iops=iops,
        bw_bps=bw_bps,
        lat_p50_ns=median_or_none([r.lat.p50_ns for r in results]),
        lat_p99_ns=median_or_none([r.lat.p99_ns for r in results]),
        lat_p999_ns=median_or_none([r.lat.p999_ns for r in results]),
        clat_p50_ns=median_or_none([r.clat.p50_ns for r in results]),
        clat_p99_ns=median_or_none([r.clat.p99_ns for r in results]),
        clat_p999_ns=median_or_none([r.clat.p999_ns for r in results]),
    )


def _monitor(trials: Sequence[StoredTrial], samples: Mapping[int, Sequence[Sample]]) -> MonitorSummary:
    host, env, reads, writes = [], [], [], []
    for trial in trials:
        series = samples.get(trial.id) or ()
        if not series:
            continue
        host.append(sum(s.host_cpu_pct for s in series) / len(series))
        proc = [s.proc_cpu_pct for s in series if s.proc_cpu_pct is not None]
        env.append(sum(proc) / len(proc) if proc else None)
        reads.append(series[-1].disk_read_bytes)
        writes.append(series[-1].disk_write_bytes)
    return MonitorSummary(median_or_none(host), median_or_none(env), median_or_none(reads), median_or_none(writes))


def _summarise(
    cell: Cell, environment: str, trials: Sequence[StoredTrial], samples: Mapping[int, Sequence[Sample]]
) -> CellSummary:
    ok = [t for t in trials if t.status is TrialStatus.OK and t.result is not None]
    statuses: dict[str, int] = {}
    reasons: list[str] = []
    for trial in trials:
        statuses[trial.status.value] = statuses.get(trial.status.value, 0) + 1
        if trial.reason and trial.reason not in reasons:
            reasons.append(trial.reason)
    labels = {}
    for trial in ok:
        labels.update({k: v for k, v in trial.facts.items() if k.endswith("_warning")})
    results = [t.result for t in ok if t.result is not None]  # all of ok
    return CellSummary(
        cell=cell,
        environment=environment,
        n_ok=len(ok),
        n_total=len(trials),
        statuses=statuses,
        reasons=tuple(reasons),
        total_iops=Spread.of([r.total_iops for r in results]),
        total_bw_bps=Spread.of([r.total_bw_bps for r in results]),
        geomean_bw_bps=geometric_mean([r.total_bw_bps for r in results]),
        geomean_iops=geometric_mean([r.total_iops for r in results]),
        read=_direction([r.read for r in results if r.read is not None]),
        write=_direction([r.write for r in results if r.write is not None]),
        sync_p99_ns=median_or_none([r.sync.p99_ns if r.sync else None for r in results]),
        cpu_usr_pct=median_or_none([r.cpu_usr_pct for r in results]),
        cpu_sys_pct=median_or_none([r.cpu_sys_pct for r in results]),
        monitor=_monitor(ok, samples),
        labels=labels,
    )


def crossover_lines(run: StoredRun, policy: Policy) -> tuple[str, ...]:
    """The verdict of a diagnosis run (`iocompare diagnose`), none for any other run."""
    design = design_of(run)
    if design is None:
        return ()
    of = run.settings["diagnosis_of"]
    lines = diagnosis_lines(
        diagnose(values_of(run, design), policy),
        cell=design.cell.key,
        baseline=design.baseline,
        candidate=design.candidate,
        rounds=design.rounds,
    )
    return (f"diagnosis of run {of.get('run_id')} ({of.get('run_name')}), iocompare diagnose:", *lines)


def build_report(
    run: StoredRun,
    samples: Mapping[int, Sequence[Sample]] | None = None,
    *,
    baseline: str | None = None,
    policy: Policy = Policy(),
) -> Report:
    """Raises UserError when `baseline` is not an environment of the run."""
    run, clocks = without_coarse_latency(run)  # a coarse clock's latencies are shown as not measurable
    by_key = by_cell_and_environment(run.trials)
    environments = tuple(run.environments)
    summaries = {
        (cell.key, env): dataclasses.replace(
            _summarise(cell, env, by_key[(cell.key, env)], samples or {}),
            latency_note=clocks[env].shown if env in clocks and clocks[env].measurable is False else None,
        )
        for cell in run.cells
        for env in environments
        if (cell.key, env) in by_key
    }
    analysis = build_analysis(run, samples, baseline=baseline, policy=policy)
    return Report(run, tuple(run.cells), environments, summaries, analysis, crossover_lines(run, policy))


def environment_facts(run: StoredRun, environment: str) -> dict[str, str]:
    _kind, facts = run.environments[environment]
    return {k: v for k, v in facts.items() if k not in _PER_TRIAL_FACTS}
