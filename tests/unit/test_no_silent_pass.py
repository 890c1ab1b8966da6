"""Never a silent pass: on a run that recorded no facts at all, every artifact check says
"fired", "not evaluated: <what is missing>" or "not applicable", and none says "passed"."""

from __future__ import annotations

import dataclasses

import pytest
from analysis_runs import PROBE_CELL, QD1_CELL, MiB, result_for, seq_write_cell
from builders import make_cell, make_trial

from iocompare.analysis.artifacts import NETWORK_CHECKS, CheckId, CheckStatus
from iocompare.analysis.runchecks import check_run
from iocompare.model import Cell, TrialStatus
from iocompare.store.records import RunInfo, RunStatus, StoredRun, StoredTrial

CELLS = (QD1_CELL, make_cell(), seq_write_cell(), PROBE_CELL)
# What each "not evaluated" must name: the fact or the reference that was missing.
NAMES_WHAT_IS_MISSING = {
    CheckId.MEMORY_FILESYSTEM: "filesystem type",
    CheckId.WORKING_SET: "host_page_cache_in_path",
    CheckId.FASTER_THAN_HOST: "storage path",
    CheckId.LATENCY_FLOOR: "storage path",
    CheckId.BYTE_ACCOUNTING: "device",
    CheckId.FLUSH: "storage path",
    CheckId.RUN_SANITY: "exit status",
    CheckId.SOFTWARE_EMULATION: "accelerator",
    CheckId.COARSE_CLOCK: "clocksource",
    CheckId.BURST_CREDIT: "idle time",
}


def factless_run(kinds: tuple[str, str], cells: tuple[Cell, ...] = CELLS, speedup: float = 1.0) -> StoredRun:
    """Two environments, five trials of every cell each, fio results and nothing else: no host,
    environment or trial facts, no monitor samples, no fio exit status."""
    envs = {"a": (kinds[0], {}), "b": (kinds[1], {})}
    trials = []
    for cell in cells:
        for env, factor in (("a", 1.0), ("b", speedup)):
            for _ in range(5):
                index = len(trials)
                trial = dataclasses.replace(make_trial(index, cell=cell, environment=env), round=index % 5)
                result = result_for(cell, 200 * MiB * factor, clat_p50_ns=90_000.0, sync_p50_ns=400_000.0)
                trials.append(StoredTrial(index + 1, trial, TrialStatus.OK, None, 0.0, 1.0, None, {}, result))
    info = RunInfo(1, "factless", 0.0, 1.0, RunStatus.COMPLETE, "t", tuple(envs), len(trials), len(trials))
    return StoredRun(info, {}, "{}", {}, envs, list(cells), trials)


@pytest.mark.parametrize("kinds", [("host", "podman"), ("imported", "imported"), ("host", "qemu"), ("host", "host")])
@pytest.mark.parametrize("speedup", [1.0, 0.8])
def test_no_check_passes_on_a_run_without_facts(kinds: tuple[str, str], speedup: float) -> None:
    checks = check_run(factless_run(kinds, speedup=speedup), {})
    assert len(checks) == len(CELLS) * 2
    for (key, env), results in checks.items():
        assert [r.check for r in results] == [c for c in CheckId if c not in NETWORK_CHECKS]
        passed = [(r.check.value, r.explanation) for r in results if r.status is CheckStatus.PASSED]
        assert passed == [], (key, env, passed)
        for r in results:
            if r.status is CheckStatus.NOT_EVALUATED:
                assert r.explanation.startswith("not evaluated: ")
                assert NAMES_WHAT_IS_MISSING[r.check] in r.explanation, (key, env, r.explanation)


def test_a_clear_speedup_still_fires_without_facts() -> None:
    """Missing facts never hide a number that cannot be true: 2x the reference fires anyway."""
    checks = check_run(factless_run(("imported", "imported"), speedup=2.0), {})
    faster = {r.check: r for r in checks[(make_cell().key, "b")]}[CheckId.FASTER_THAN_HOST]
    assert faster.status is CheckStatus.FIRED and faster.evidence["ratio"] == pytest.approx(2.0)


def test_unknown_working_set_and_unknown_cache_are_not_evaluated() -> None:
    """The issue's case: no host_page_cache_in_path and a working set of 0 (unknown) must not read
    "passed: working set 0 B; no cache layer in the path"."""
    unknown_size = dataclasses.replace(make_cell(), working_set_bytes=0)
    run = factless_run(("host", "qemu"), cells=(unknown_size,))
    for results in check_run(run, {}).values():
        ws = {r.check: r for r in results}[CheckId.WORKING_SET]
        assert ws.status is CheckStatus.NOT_EVALUATED and "0 B" not in ws.explanation
    # With the page-cache fact but no size, it names the size.
    facts = {"host_page_cache_in_path": "no", "fs_type": "ext4"}
    run = dataclasses.replace(run, environments={"a": ("host", facts), "b": ("qemu", facts)})
    for results in check_run(run, {}).values():
        ws = {r.check: r for r in results}[CheckId.WORKING_SET]
        assert ws.explanation == "not evaluated: the working set size was not recorded"
