"""The doctor's 1 s fio: one trial of one small cell, through the same runner, environment
lifecycle, cleanup and store as a real run (into a throw-away database), so "works" means a real
run works: the container starts, the guest boots, fio runs and its output parses."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from iocompare.engines.fio_binary import FioBinary
from iocompare.environments.base import Environment
from iocompare.execute import launch
from iocompare.execute.space import Reserve, SpacePlan
from iocompare.model import FioResult, Sample, Trial, TrialStatus
from iocompare.spec.expand import Plan, expand
from iocompare.spec.models import Suite
from iocompare.store import Store
from iocompare.units import format_iops, format_rate

SMOKE_SUITE = {
    "name": "doctor",
    "runtime_s": 1,
    "ramp_s": 0,
    "repeat": 1,
    "max_repeat": 1,
    "references": False,
    # Small, and labelled rather than refused when a cache layer is not bypassed (Firecracker):
    # the doctor asks whether fio runs, not what the disk does.
    "working_set": {"size": "64m", "min_size": "64m", "policy": "label"},
    "workloads": [{"name": "rand-read-qd1", "pattern": "rand-read", "iodepth": 1, "block_sizes": ["4k"]}],
}


@dataclass(frozen=True)
class SmokeResult:
    status: TrialStatus
    reason: str | None
    result: FioResult | None
    facts: dict[str, str]

    def describe(self) -> str:
        if self.status is not TrialStatus.OK or self.result is None:
            return f"{self.status.value}: {self.reason or 'no reason recorded'}"
        r = self.result
        return f"{format_rate(r.total_bw_bps)}, {format_iops(r.total_iops)} IOPS at 4 KiB QD1"


class _Quiet:
    def trial_started(self, trial: Trial) -> None:
        pass

    def sample(self, trial: Trial, sample: Sample) -> None:
        pass

    def trial_finished(self, trial: Trial, status: TrialStatus, reason: str | None, result: FioResult | None) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def trials_added(self, trials: list[Trial]) -> None:
        pass


def smoke_run(environment: str, *, target: Path, fio: FioBinary) -> SmokeResult:
    """One 1 s trial in `environment`; everything it creates is removed on every exit path."""
    suite = Suite.model_validate({**SMOKE_SUITE, "environments": [environment]})
    plan = expand(suite, run_seed=1)
    with tempfile.TemporaryDirectory(prefix="iocompare-doctor-") as temp:
        db_path = Path(temp) / "doctor.db"

        def create_run(
            store: Store, final_suite: Suite, final_plan: Plan, space: SpacePlan, envs: Mapping[str, Environment]
        ) -> int:
            return store.create_run(
                name="doctor",
                suite_name=final_suite.name,
                suite_json=final_suite.model_dump_json(),
                settings={"target": str(target), "fio": fio.version},
                host_facts={},
                environments=[(n, e.kind, {}) for n, e in envs.items()],
                cells=final_plan.cells,
            )

        job = launch.Launch(
            plan, suite, target, db_path, fio, uuid.uuid4().hex[:8], Reserve(min_bytes=0, fraction=0.0), "doctor"
        )
        _summary, run_id, _removed = launch.execute(
            job, create_run=create_run, observer_factory=lambda _plan: _Quiet(), notify=lambda _message: None
        )
        if run_id is None:
            return SmokeResult(TrialStatus.FAILED, "the run was not created", None, {})
        with Store.open(db_path) as store:
            run = store.load_run(run_id)
            facts = dict(run.environments[environment][1])
        if not run.trials:
            return SmokeResult(TrialStatus.FAILED, "no trial was recorded", None, facts)
        trial = run.trials[0]
        return SmokeResult(trial.status, trial.reason, trial.result, {**facts, **trial.facts})
