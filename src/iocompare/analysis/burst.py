"""The `burst-credit` check: does throughput follow the idle time before fio?

A device with burst credit (a cloud volume, a rate limiter with a bucket, this machine's disk)
is faster after a pause. Each trial records the idle gap between the previous IO and its fio
(execute/settle.py). The check fires when, within one environment and cell, throughput rises
with the gap (Spearman's rank correlation, significant), or when this environment idled
noticeably longer (or shorter) than the reference and was faster (or slower) beyond the noise
threshold: then the difference may be the pause, not the environment.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from iocompare.analysis.artifacts import CheckId, CheckResult, CheckStatus
from iocompare.facts import registry as fk
from iocompare.model import TrialStatus
from iocompare.store.records import StoredTrial

MIN_TRIALS = 5  # for a rank correlation
MIN_SPREAD_S = 0.5  # gaps closer than this are equal idle, whatever their order
MIN_RHO = 0.8
ALPHA = 0.05
GAP_DIFFERS_S = 0.25  # environments' median gaps this far apart (and 20 % of the shorter) differ
GAP_DIFFERS_SHARE = 0.2
EFFECT = 1.05  # the verdicts' noise threshold


@dataclass(frozen=True)
class Idle:
    gap_s: float
    bw_bps: float


def idles(trials: Sequence[StoredTrial]) -> tuple[list[Idle], int]:
    """(gap, throughput) of the successful trials that recorded a gap; and how many did not."""
    out, missing = [], 0
    for t in trials:
        if t.status is not TrialStatus.OK or t.result is None:
            continue
        gap = fk.IDLE_GAP_S.get(t.facts)
        if gap is None:
            missing += 1
        else:
            out.append(Idle(gap, t.result.total_bw_bps))
    return out, missing


def _ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    array = np.asarray(values, dtype=float)
    order = array.argsort(kind="stable")
    ranks = np.empty(len(array))
    ranks[order] = np.arange(1, len(array) + 1)
    for value in np.unique(array):
        tied = array == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def rank_correlation(x: Sequence[float], y: Sequence[float], *, permutations: int = 4999) -> tuple[float, float] | None:
    """Spearman's rho and its one-sided p-value (rho this high by chance) from a seeded permutation
    test; None when either side is constant."""
    rx, ry = _ranks(x), _ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    rho = float(np.corrcoef(rx, ry)[0, 1])
    rng = np.random.default_rng(len(rx))
    shuffled = np.array([rng.permutation(ry) for _ in range(permutations)])
    null = ((shuffled - ry.mean()) @ (rx - rx.mean())) / (len(rx) * rx.std() * ry.std())
    p = (1 + int((null >= rho - 1e-12).sum())) / (1 + permutations)
    return rho, p


def _within(mine: list[Idle]) -> tuple[bool, dict[str, float | int | str]] | None:
    gaps = [i.gap_s for i in mine]
    if len(mine) < MIN_TRIALS or max(gaps) - min(gaps) < MIN_SPREAD_S:
        return None
    found = rank_correlation(gaps, [i.bw_bps for i in mine])
    if found is None:  # constant throughput: nothing follows anything
        return None
    rho, p = found
    return rho >= MIN_RHO and p < ALPHA, {"rho": rho, "p": p, "gap_min_s": min(gaps), "gap_max_s": max(gaps)}


def check_burst_credit(
    mine: Sequence[StoredTrial], reference: Sequence[StoredTrial] | None, reference_name: str
) -> CheckResult:
    c = CheckId.BURST_CREDIT
    own, missing = idles(mine)
    if not own:
        why = "the idle time before fio was not recorded" if missing else "no successful trial"
        return CheckResult(c, CheckStatus.NOT_EVALUATED, "not evaluated", f"not evaluated: {why}")
    gap = statistics.median(i.gap_s for i in own)
    evidence: dict[str, float | int | str] = {"median_idle_gap_s": gap}
    within = _within(own)
    if within is not None:
        evidence.update(within[1])
        if within[0]:
            return CheckResult(
                c,
                CheckStatus.FIRED,
                "throughput follows the idle gap",
                f"throughput rises with the idle time before fio (rank correlation {within[1]['rho']:.2f} over gaps "
                f"of {within[1]['gap_min_s']:.1f}-{within[1]['gap_max_s']:.1f} s): the device has burst credit",
                evidence,
            )
    if reference is not None:
        theirs, _ = idles(reference)
        if theirs:
            their_gap = statistics.median(i.gap_s for i in theirs)
            ratio = statistics.median(i.bw_bps for i in own) / statistics.median(i.bw_bps for i in theirs)
            evidence.update(reference_idle_gap_s=their_gap, ratio=ratio)
            apart = abs(gap - their_gap)
            if apart >= GAP_DIFFERS_S and apart >= GAP_DIFFERS_SHARE * min(gap, their_gap):
                longer = gap > their_gap
                follows = ratio >= EFFECT if longer else ratio <= 1 / EFFECT
                if follows:
                    return CheckResult(
                        c,
                        CheckStatus.FIRED,
                        "idled longer than the reference" if longer else "idled less than the reference",
                        f"fio started after {gap:.2f} s idle against {their_gap:.2f} s in {reference_name}, and "
                        f"throughput is {ratio:.2f}x: the difference may be the device's burst credit",
                        evidence,
                    )
    return CheckResult(
        c,
        CheckStatus.PASSED,
        "throughput does not follow the idle gap",
        f"idle before fio {gap:.2f} s (median)"
        + (
            f", {reference_name} {evidence['reference_idle_gap_s']:.2f} s" if "reference_idle_gap_s" in evidence else ""
        ),
        evidence,
    )
