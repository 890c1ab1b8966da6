"""The `coarse-clock` check, and the latency-based checks it makes "not evaluated".

A guest whose clock ticks every 4 ms times most IOs at 0 ns: its latencies would read "served
from memory" (below-device-latency-floor) and "flushes do not reach the disk" (flush-not-honoured)
on clock grounds alone. Where either side's clock is coarse, those checks say so instead, and
`coarse-clock` fires. The decision itself is facts/judge.py's `latency_clock`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from iocompare.analysis.artifacts import CheckId, CheckResult, CheckStatus
from iocompare.facts.judge import LatencyClock, latency_clock
from iocompare.model import DirectionResult, Percentiles
from iocompare.store.records import StoredRun

# Checks whose evidence is a latency figure: meaningless on a coarse clock.
LATENCY_CHECKS = frozenset({CheckId.LATENCY_FLOOR, CheckId.FLUSH})


def environment_clocks(run: StoredRun) -> dict[str, LatencyClock]:
    """Each environment's latency clock, over the facts of all its trials (environment facts
    overlaid with each trial's: a guest's clocksource is a trial fact)."""
    per_env: dict[str, list[Mapping[str, str]]] = {}
    for name, (_kind, facts) in run.environments.items():
        per_env[name] = [facts]
    for stored in run.trials:
        env_facts = run.environments.get(stored.trial.environment, ("", {}))[1]
        per_env.setdefault(stored.trial.environment, []).append({**env_facts, **stored.facts})
    return {name: latency_clock(facts) for name, facts in per_env.items()}


def check_coarse_clock(clock: LatencyClock) -> CheckResult:
    c = CheckId.COARSE_CLOCK
    if clock.measurable is None:
        return CheckResult(c, CheckStatus.NOT_EVALUATED, "not evaluated", f"not evaluated: {clock.why}")
    evidence: dict[str, float | int | str] = {"clock": clock.why}
    if clock.measurable:
        return CheckResult(c, CheckStatus.PASSED, "fine clock", clock.why, evidence)
    if clock.resolution_ns is not None:
        evidence["resolution_ns"] = clock.resolution_ns
    return CheckResult(
        c,
        CheckStatus.FIRED,
        "coarse clock",
        f"latency {clock.shown}: {clock.why}; throughput is unaffected",
        evidence,
    )


def guard_latency_checks(
    results: Sequence[CheckResult], mine: LatencyClock, reference: LatencyClock | None, reference_name: str
) -> tuple[CheckResult, ...]:
    """The checks of one cell with latency-based ones "not evaluated" where a clock is coarse, and
    the coarse-clock check appended."""
    why = None
    if mine.measurable is False:
        why = f"latency {mine.shown} here ({mine.why})"
    elif reference is not None and reference.measurable is False:
        why = f"latency {reference.shown} in {reference_name} ({reference.why})"
    out = []
    for result in results:
        if why is not None and result.check in LATENCY_CHECKS and result.status is not CheckStatus.NOT_APPLICABLE:
            result = CheckResult(result.check, CheckStatus.NOT_EVALUATED, "not evaluated", f"not evaluated: {why}")
        out.append(result)
    out.append(check_coarse_clock(mine))
    return tuple(out)


def _blank(side: DirectionResult | None) -> DirectionResult | None:
    if side is None:
        return None
    return dataclasses.replace(
        side, lat_mean_ns=None, lat_min_ns=None, lat_max_ns=None, lat=Percentiles(), clat=Percentiles()
    )


def without_coarse_latency(run: StoredRun) -> tuple[StoredRun, dict[str, LatencyClock]]:
    """The run with every latency figure of a coarse-clocked environment removed (None), so no
    report, chart, curve or latency verdict shows "0 ns"; and each environment's clock, for the
    renderers to say why (LatencyClock.shown)."""
    clocks = environment_clocks(run)
    coarse = {name for name, clock in clocks.items() if clock.measurable is False}
    if not coarse:
        return run, clocks
    trials = []
    for stored in run.trials:
        result = stored.result
        if result is not None and stored.trial.environment in coarse:
            result = dataclasses.replace(
                result,
                read=_blank(result.read),
                write=_blank(result.write),
                sync=None if result.sync is None else Percentiles(),
            )
            stored = dataclasses.replace(stored, result=result)
        trials.append(stored)
    return dataclasses.replace(run, trials=trials), clocks
