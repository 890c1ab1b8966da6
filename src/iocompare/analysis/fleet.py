"""One cell on several hosts at once (`--all-at-once`, fio's multi-client mode): the aggregate
throughput of every trial and each host's share, summarised across trials with bootstrap CIs.
The stored result of such a trial is the aggregate; the shares are its `fleet_hosts` fact
(environments/remote.py), written from fio's per-client json+ entries."""

from __future__ import annotations

import json
from dataclasses import dataclass

from iocompare.analysis import stats
from iocompare.analysis.stats import SampleSummary
from iocompare.model import TrialStatus
from iocompare.store.records import StoredRun, by_cell_and_environment

FLEET_FACT = "fleet_hosts"


@dataclass(frozen=True)
class HostShare:
    host: str  # ADDR:PORT
    bw: SampleSummary  # bytes/s across trials


@dataclass(frozen=True)
class FleetCell:
    key: str
    environment: str
    aggregate: SampleSummary  # bytes/s summed over the hosts, across trials
    hosts: tuple[HostShare, ...]


def _shares(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float) and v > 0}


def fleet_cells(run: StoredRun, *, seed: int = stats.DEFAULT_SEED) -> list[FleetCell]:
    out = []
    for (key, env), group in by_cell_and_environment(run.trials).items():
        ok = [t for t in group if t.status is TrialStatus.OK and t.result is not None and FLEET_FACT in t.facts]
        if not ok:
            continue
        totals = [t.result.total_bw_bps for t in ok if t.result is not None and t.result.total_bw_bps > 0]
        per_host: dict[str, list[float]] = {}
        for trial in ok:
            for host, value in _shares(trial.facts.get(FLEET_FACT)).items():
                per_host.setdefault(host, []).append(value)
        if not totals:
            continue
        out.append(
            FleetCell(
                key,
                env,
                stats.summarise(totals, seed=[seed, 1]),
                tuple(HostShare(h, stats.summarise(v, seed=[seed, 2])) for h, v in sorted(per_host.items())),
            )
        )
    return out
