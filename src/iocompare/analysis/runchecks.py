"""Artifact checks over a stored run: builds each cell's evidence and its host references.

References come from the reference environment (default: the host) of the same run: the
same cell (throughput ceiling), its 4 KiB random read at QD1 (latency floor) and its fsync
probe (flush latency). A run without a host (an imported one) takes the baseline the report
compares against as its reference. A run without them gets "not evaluated", never a silent pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from iocompare.analysis.artifacts import (
    CellEvidence,
    CheckResult,
    References,
    Thresholds,
    TrialEvidence,
    check_cell,
    fired_labels,
    read_clat_p50,
    sync_p50,
)
from iocompare.analysis.baseline import kind_of
from iocompare.analysis.burst import check_burst_credit
from iocompare.analysis.clock import environment_clocks, guard_latency_checks
from iocompare.analysis.compare import run_baseline
from iocompare.analysis.netchecks import LOOPBACK, network_checks
from iocompare.facts import registry as fk
from iocompare.model import Cell, Pattern, Sample
from iocompare.store.records import StoredRun, by_cell_and_environment


def evidence_from_run(run: StoredRun, samples: Mapping[int, Sequence[Sample]]) -> dict[tuple[str, str], CellEvidence]:
    """(cell key, environment) -> evidence; device bytes from the last monitor sample of a trial."""
    grouped = by_cell_and_environment(run.trials)
    out = {}
    for (key, env), trials in grouped.items():
        kind, env_facts = run.environments.get(env, ("unknown", {}))
        facts = dict(env_facts)
        for st in trials:
            facts.update({k: v for k, v in st.facts.items() if k != "fio_job"})
        evidence = []
        for st in trials:
            series = samples.get(st.id) or ()
            last = series[-1] if series else None
            evidence.append(
                TrialEvidence(
                    st.id,
                    st.status,
                    st.reason,
                    st.result,
                    last.disk_read_bytes if last else None,
                    last.disk_write_bytes if last else None,
                    fio_exit_code=st.fio_exit_code,
                    device_read_requests=fk.DISK_READ_REQUESTS.get(st.facts),
                    device_write_requests=fk.DISK_WRITE_REQUESTS.get(st.facts),
                    steady_state=fk.STEADY_STATE.get(st.facts),
                )
            )
        out[(key, env)] = CellEvidence(trials[0].trial.cell, env, kind, facts, tuple(evidence))
    return out


def reference_environment(run: StoredRun, baseline: str | None = None) -> str:
    """The environment checks compare against: the host when the run has one (it is the ceiling
    whatever the verdicts' baseline), else the baseline asked for, else the default baseline."""
    chosen = run_baseline(run)
    if baseline is None or kind_of(chosen) == "host" or run.environments[chosen][0] == "host":
        return chosen
    return baseline


def _find(
    cells: Mapping[tuple[str, str], CellEvidence], env: str, match: Callable[[Cell], bool]
) -> CellEvidence | None:
    found = [ev for (_, e), ev in cells.items() if e == env and match(ev.cell)]
    return min(found, key=lambda ev: abs(ev.cell.block_size_bytes - 4096), default=None)


def _is_qd1_read(cell: Cell) -> bool:
    return cell.pattern is Pattern.RAND_READ and cell.iodepth == 1 and cell.numjobs == 1


def _is_probe(cell: Cell) -> bool:
    return cell.pattern is Pattern.FSYNC_PROBE


def check_run(
    run: StoredRun,
    samples: Mapping[int, Sequence[Sample]],
    *,
    reference: str | None = None,
    thresholds: Thresholds = Thresholds(),
) -> dict[tuple[str, str], tuple[CheckResult, ...]]:
    """Every check for every (cell key, environment) of a stored run, against the host reference."""
    ref = reference or run_baseline(run)
    cells = evidence_from_run(run, samples)
    qd1, host_probe = _find(cells, ref, _is_qd1_read), _find(cells, ref, _is_probe)
    memory = fk.MEMORY_BYTES.get(run.host_facts)
    ref_facts = dict(run.environments.get(ref, ("", {}))[1])
    clocks, grouped = environment_clocks(run), by_cell_and_environment(run.trials)
    out = {}
    for (key, env), ev in cells.items():
        if ev.cell.pattern.network:  # iperf3/sockperf cells have checks of their own
            out[(key, env)] = network_checks(ev, grouped[(key, env)], grouped.get((key, LOOPBACK)))
            continue
        env_probe = _find(cells, env, _is_probe)
        host_cell = cells.get((key, ref))
        refs = References(
            is_reference=env == ref,
            host_cell=host_cell,
            qd1_read_latency_ns=qd1.median(read_clat_p50) if qd1 else None,
            host_flush_latency_ns=host_probe.median(sync_p50) if host_probe else None,
            env_flush_latency_ns=env_probe.median(sync_p50) if env_probe else None,
            host_memory_bytes=memory,
            reference_facts=host_cell.facts if host_cell else ref_facts,
            reference_name="the host" if ref == "host" else ref,
        )
        checks = guard_latency_checks(
            check_cell(ev, refs, thresholds), clocks[env], clocks.get(ref), refs.reference_name
        )
        reference_trials = None if env == ref else grouped.get((key, ref))
        out[(key, env)] = (*checks, check_burst_credit(grouped[(key, env)], reference_trials, refs.reference_name))
    return out


def suspect_labels(checks: Mapping[tuple[str, str], Sequence[CheckResult]]) -> dict[tuple[str, str], tuple[str, ...]]:
    """For compare.compare_run(suspects=...): the labels of the checks that fired, per cell."""
    return {k: fired_labels(v) for k, v in checks.items() if fired_labels(v)}
