"""Walks the trials of a plan, owns environment lifecycles, stores one transaction per trial."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from iocompare.analysis.compare import metric_values
from iocompare.analysis.stopping import Stop, StopDecision
from iocompare.engines.fio_clock import latency_grid_facts
from iocompare.engines.fio_job import render_job
from iocompare.engines.fio_parse import parse_fio_output_detailed
from iocompare.environments.base import Environment
from iocompare.errors import IocompareError
from iocompare.execute.adaptive import decide, extra_round
from iocompare.execute.applicability import judge
from iocompare.execute.netmeasure import measure_network
from iocompare.execute.settle import IdleClock
from iocompare.facts import registry as fk
from iocompare.model import FioResult, FioRun, Sample, Trial, TrialStatus
from iocompare.monitor import Monitor
from iocompare.spec.expand import Plan
from iocompare.store import Store
from iocompare.store.records import StoredTrial
from iocompare.units import format_size

# fio gets ramp + runtime plus generous slack (end_fsync on a slow device, a loaded machine)
# before it is treated as hung and killed.
TIMEOUT_FACTOR = 3
TIMEOUT_SLACK_S = 120
LAYOUT_MIN_BPS = 20 << 20  # a layout slower than 20 MiB/s is treated as hung


class RunObserver(Protocol):
    def trial_started(self, trial: Trial) -> None: ...
    def sample(self, trial: Trial, sample: Sample) -> None: ...
    def trial_finished(
        self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None
    ) -> None: ...
    def note(self, message: str) -> None: ...
    def trials_added(self, trials: list[Trial]) -> None: ...


@dataclass(frozen=True)
class TrialOutcome:
    status: TrialStatus
    reason: str | None
    result: FioResult | None
    raw: FioRun | None
    facts: dict[str, str]
    samples: tuple[Sample, ...]
    console: str | None = None  # a guest's console log, kept when its trial failed


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    counts: Mapping[TrialStatus, int]
    wall_s: float

    @property
    def failed(self) -> int:
        return self.counts.get(TrialStatus.FAILED, 0)


def _nothing_measured(counts: Mapping[TrialStatus, int], done_trials: frozenset[int]) -> bool:
    """Trials ran, and every one was refused or not applicable. (A resumed run measured
    something before, in its done trials, whatever remains.)"""
    measured = counts.get(TrialStatus.OK, 0) + counts.get(TrialStatus.FAILED, 0)
    return bool(counts) and not measured and not done_trials


class Runner:
    def __init__(
        self,
        plan: Plan,
        environments: Mapping[str, Environment],
        store: Store,
        observer: RunObserver,
        *,
        refused: Mapping[str, str] | None = None,
        done_trials: frozenset[int] = frozenset(),
        reserve_bytes: Mapping[str, int] | None = None,
    ) -> None:
        self.plan = plan
        self.environments = environments
        self.store = store
        self.observer = observer
        self.refused = dict(refused or {})  # environment -> reason (e.g. no space)
        self.done_trials = done_trials  # trial indexes already stored (resume)
        self.reserve_bytes = dict(reserve_bytes or {})  # environment -> free bytes to keep
        self.stopped_reason: str | None = None
        self.decisions: dict[str, StopDecision] = {}  # cell key -> last stopping decision
        rule = plan.suite.steady_state
        self._steady_state = None if rule is None else rule.rule()
        # What the stopping rule reads, kept in memory: re-reading the whole run from SQLite
        # after every round grows with the run. A resumed run starts from what is stored.
        self._finished: list[StoredTrial] = []
        self.idle = IdleClock(plan.suite.settle_s)

    def run(self, run_id: int) -> RunSummary:
        self._run_id = run_id
        started = time.monotonic()
        counts: dict[TrialStatus, int] = {}
        status = "interrupted"
        try:
            with contextlib.ExitStack() as stack:
                for name, environment in self.environments.items():
                    if name in self.refused:
                        continue
                    stack.enter_context(environment)
                    self.store.update_environment_facts(
                        run_id, name, {**environment.facts(), **environment.context.target_facts}
                    )
                if self.done_trials:
                    self._finished = list(self.store.load_run(run_id).trials)
                trials: list[Trial] = [t for t in self.plan.trials if t.index not in self.done_trials]
                while trials and not self.stopped_reason:
                    for trial in trials:
                        outcome = self._run_trial(trial)
                        counts[outcome.status] = counts.get(outcome.status, 0) + 1
                        if self.stopped_reason:
                            break
                    trials = [] if self.stopped_reason else self._next_adaptive_round()
                if self.decisions:
                    stopping = {key: f"{d.action.value}: {d.reason}" for key, d in self.decisions.items()}
                    self.store.update_run_settings(run_id, {"stopping": stopping})
                status = (
                    "failed"
                    if counts.get(TrialStatus.FAILED) or _nothing_measured(counts, self.done_trials)
                    else "complete"
                )
        finally:
            self.store.finish_run(run_id, status)
        return RunSummary(run_id, counts, time.monotonic() - started)

    def _next_adaptive_round(self) -> list[Trial]:
        """Another round for the cells the stopping rule has not decided (empty: all decided)."""
        suite = self.plan.suite
        if suite.max_repeat <= suite.repeat:
            return []
        active = [e for e in self.plan.environments if e not in self.refused]
        if not active:
            return []  # every environment refused: no round can measure anything
        stored = self._finished
        decisions = decide(suite, self.plan.cells, active, metric_values(stored))
        self.decisions = {d.cell.key: d.decision for d in decisions}
        pending = [d.cell for d in decisions if d.decision.action is Stop.CONTINUE]
        if not pending:
            return []
        round_index = 1 + max(t.trial.round for t in stored)
        first_index = 1 + max(max(t.trial.index for t in stored), max(t.index for t in self.plan.trials))
        trials = extra_round(
            pending, active, round_index=round_index, first_index=first_index, run_seed=self.plan.run_seed
        )
        self.observer.trials_added(trials)
        return trials

    def _run_trial(self, trial: Trial) -> TrialOutcome:
        environment = self.environments[trial.environment]
        self.observer.trial_started(trial)
        started_at = time.time()
        outcome = self._measure(trial, environment)
        ended_at = time.time()
        self.store.record_trial(
            self._run_id,
            trial,
            status=outcome.status,
            reason=outcome.reason,
            started_at=started_at,
            ended_at=ended_at,
            result=outcome.result,
            raw=outcome.raw,
            facts=outcome.facts,
            samples=outcome.samples,
            console=outcome.console,
        )
        wall_s = outcome.raw.wall_s if outcome.raw is not None else None
        self._finished.append(
            StoredTrial(
                -1, trial, outcome.status, outcome.reason, started_at, ended_at, wall_s, outcome.facts, outcome.result
            )
        )
        self.observer.trial_finished(trial, outcome.status, outcome.reason, outcome.result)
        return outcome

    def _measure(self, trial: Trial, environment: Environment) -> TrialOutcome:
        cell = trial.cell
        suite = self.plan.suite
        if trial.environment in self.refused:
            return TrialOutcome(TrialStatus.REFUSED, self.refused[trial.environment], None, None, {}, ())
        if cell.pattern.network:  # iperf3/sockperf, not fio (execute/netmeasure.py)
            net = measure_network(trial, environment, self.idle, lambda sample: self.observer.sample(trial, sample))
            return TrialOutcome(net.status, net.reason, net.result, net.raw, net.facts, net.samples)
        facts = {**environment.facts(), **environment.context.target_facts}
        verdict = judge(
            cell, environment, cache_multiple=suite.working_set.cache_multiple, policy=suite.working_set.policy
        )
        if verdict.status is not None:
            return TrialOutcome(verdict.status, verdict.reason, None, None, facts, ())
        facts.update(verdict.labels)
        reserve = self.reserve_bytes.get(trial.environment, 0)
        free = _free_bytes(environment.host_storage_path)
        if reserve and free < reserve:
            self.stopped_reason = (
                f"not started: free space under {environment.host_storage_path} is {format_size(free)}, "
                f"below the reserve of {format_size(reserve)}"
            )
            return TrialOutcome(TrialStatus.FAILED, self.stopped_reason, None, None, facts, ())
        try:
            layout_started = time.monotonic()
            environment.ensure_working_set(
                cell.working_set_bytes, timeout_s=TIMEOUT_SLACK_S + cell.working_set_bytes / LAYOUT_MIN_BPS
            )
            self.idle.after_layout(time.monotonic() - layout_started)
            facts.update(environment.working_set_facts(cell.working_set_bytes))
            job_text = render_job(
                cell,
                filename=environment.working_set_path(cell.working_set_bytes),
                seed=trial.seed,
                steady_state=self._steady_state,
            )
            facts["fio_job"] = job_text
            self.idle.startup_begins()
            with environment.instance() as instance:
                facts.update(instance.prepare())
                if "working_set_laid_out_per_trial" in facts:
                    self.idle.io_ended()  # laid out in this fresh instance: that was IO too
                facts.update(self.idle.wait())  # equal idle before fio (execute/settle.py)

                def on_sample(sample: Sample) -> None:
                    self.observer.sample(trial, sample)
                    if reserve and 0 <= sample.free_bytes < reserve and not self.stopped_reason:
                        self.stopped_reason = (
                            f"stopped: free space under {environment.host_storage_path} fell to "
                            f"{format_size(sample.free_bytes)}, below the reserve of {format_size(reserve)}"
                        )
                        instance.abort()

                with Monitor(
                    path=environment.host_storage_path,
                    device=facts.get("device"),
                    pids=instance.pids_to_monitor,
                    on_sample=on_sample,
                ) as monitor:
                    try:
                        raw = instance.run_fio(job_text, timeout_s=TIMEOUT_FACTOR * cell.seconds + TIMEOUT_SLACK_S)
                    finally:
                        self.idle.io_ended()
                facts.update(instance.after_run_facts())
            samples = tuple(monitor.samples)
        except IocompareError as exc:
            reason = self.stopped_reason or exc.one_line()
            return TrialOutcome(TrialStatus.FAILED, reason, None, None, facts, (), getattr(exc, "console", None))
        if self.stopped_reason:
            return TrialOutcome(TrialStatus.FAILED, self.stopped_reason, None, raw, facts, samples)
        return self._judge_run(raw, trial, facts, samples)

    def _judge_run(self, raw: FioRun, trial: Trial, facts: dict[str, str], samples: tuple[Sample, ...]) -> TrialOutcome:
        try:
            parsed = parse_fio_output_detailed(raw.output_json, cell=trial.cell)
        except IocompareError as exc:
            reason = f"fio exited with {raw.exit_code}; {exc.one_line()}; stderr: {raw.stderr.strip()[-500:]}"
            return TrialOutcome(TrialStatus.FAILED, reason, None, raw, facts, samples)
        result = parsed.result
        facts["percentile_source"] = parsed.percentile_source.value
        facts.update(latency_grid_facts(raw.output_json))  # the clock fio's latencies were timed with
        if raw.exit_code != 0 or result.error:
            reason = f"fio exited with {raw.exit_code} (error {result.error}): {raw.stderr.strip()[-500:]}"
            return TrialOutcome(TrialStatus.FAILED, reason, result, raw, facts, samples)
        if result.steady_state is not None:
            facts[fk.STEADY_STATE.name] = result.steady_state.describe()
        return TrialOutcome(TrialStatus.OK, "; ".join(result.problems) or None, result, raw, facts, samples)


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 1 << 62  # unknown: do not stop the run for it
