"""Each artifact check fires on crafted inputs, stays quiet on a clean configuration, and says
"not evaluated" when its reference is missing."""

from __future__ import annotations

import pytest
from analysis_runs import (
    DISK_FACTS,
    PROBE_CELL,
    QD1_CELL,
    GiB,
    MiB,
    RunBuilder,
    device_sample,
    result_for,
    seq_write_cell,
    with_problems,
)
from builders import make_cell

from iocompare.analysis.artifacts import (
    NETWORK_CHECKS,
    CellEvidence,
    CheckId,
    CheckStatus,
    References,
    Thresholds,
    TrialEvidence,
    check_cell,
)
from iocompare.analysis.runchecks import check_run, evidence_from_run, suspect_labels
from iocompare.model import Pattern, TrialStatus

READ_CELL = make_cell()  # 4 KiB random read QD32, 8 GiB working set
WRITE_CELL = seq_write_cell()
CLEAN_REFS = References(
    host_cell=None,
    qd1_read_latency_ns=80_000.0,
    host_flush_latency_ns=400_000.0,
    env_flush_latency_ns=450_000.0,
    host_memory_bytes=16 * GiB,
    reference_facts=DISK_FACTS,
)


def evidence(cell=READ_CELL, *, facts=None, kind="container", results=None, shares=(1.1, 1.1), status=TrialStatus.OK):
    results = results if results is not None else [result_for(cell, 1000 * MiB, clat_p50_ns=150_000.0)] * 5
    trials = []
    for i, r in enumerate(results):
        last = device_sample(r, read_share=shares[0], write_share=shares[1])[-1]
        trials.append(TrialEvidence(i, status, None, r, last.disk_read_bytes, last.disk_write_bytes, fio_exit_code=0))
    return CellEvidence(cell, "env", kind, {**DISK_FACTS, **(facts or {})}, tuple(trials))


def host_cell(cell=READ_CELL, bw=1000 * MiB):
    return evidence(cell, kind="host", results=[result_for(cell, bw)] * 5)


def by_id(results):
    return {r.check: r for r in results}


@pytest.mark.parametrize("cell", [READ_CELL, WRITE_CELL])
def test_a_clean_configuration_fires_nothing(cell):
    refs = References(
        host_cell=host_cell(cell),
        **{
            k: getattr(CLEAN_REFS, k)
            for k in (
                "qd1_read_latency_ns",
                "host_flush_latency_ns",
                "env_flush_latency_ns",
                "host_memory_bytes",
                "reference_facts",
            )
        },
    )
    facts = {"accelerator": "kvm", "host_page_cache_in_path": "no"}
    results = check_cell(evidence(cell, facts=facts, kind="qemu"), refs)
    # coarse-clock and burst-credit need the whole run (analysis/clock.py, burst.py): added by check_run
    assert [r.check for r in results] == [
        c for c in CheckId if c not in (CheckId.COARSE_CLOCK, CheckId.BURST_CREDIT) and c not in NETWORK_CHECKS
    ]
    assert not [r for r in results if r.fired], [r.explanation for r in results if r.fired]
    assert {r.status for r in results} <= {CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE}


@pytest.mark.parametrize(
    ("facts", "label"),
    [
        ({"fs_type": "tmpfs"}, "memory filesystem (tmpfs)"),
        ({"memory_backed": "yes"}, "memory filesystem (ext4)"),
        ({"fs_type": "fuse.fuse-overlayfs"}, "O_DIRECT not honoured (fuse.fuse-overlayfs)"),
        ({"direct_io_honoured": "no"}, "O_DIRECT not honoured (ext4)"),
        ({"fs_type": "overlay", "fs_type_inside": "tmpfs"}, "memory filesystem (overlay, tmpfs)"),
        ({"mount_kind": "tmpfs", "fs_type": "overlay"}, "memory filesystem (overlay, tmpfs)"),
    ],
)
def test_memory_filesystem(facts, label):
    r = by_id(check_cell(evidence(facts=facts), CLEAN_REFS))[CheckId.MEMORY_FILESYSTEM]
    assert r.fired and r.label == label
    assert "fs_type" in r.evidence


def test_memory_filesystem_without_facts_is_not_evaluated():
    ev = CellEvidence(READ_CELL, "env", "container", {}, ())
    assert by_id(check_cell(ev, CLEAN_REFS))[CheckId.MEMORY_FILESYSTEM].status is CheckStatus.NOT_EVALUATED


def test_working_set_warning_fact_fires():
    r = by_id(
        check_cell(evidence(facts={"working_set_warning": "working set 1 GiB is smaller than 2x ..."}), CLEAN_REFS)
    )
    assert r[CheckId.WORKING_SET].fired and r[CheckId.WORKING_SET].explanation.startswith("working set 1 GiB")


def test_host_page_cache_in_path_fires_when_the_working_set_fits():
    small = make_cell(working_set_bytes=8 * GiB)
    r = by_id(check_cell(evidence(small, facts={"host_page_cache_in_path": "yes"}), CLEAN_REFS))[CheckId.WORKING_SET]
    assert r.fired and r.label == "host page cache in path"
    assert r.evidence == {"working_set_bytes": 8 * GiB, "cache_bytes": 16 * GiB}
    big = make_cell(working_set_bytes=40 * GiB)
    assert not by_id(check_cell(evidence(big, facts={"host_page_cache_in_path": "yes"}), CLEAN_REFS))[
        CheckId.WORKING_SET
    ].fired
    unknown = References(host_memory_bytes=None)
    assert (
        by_id(check_cell(evidence(facts={"host_page_cache_in_path": "yes"}), unknown))[CheckId.WORKING_SET].status
        is CheckStatus.NOT_EVALUATED
    )


def test_buffered_guest_uses_guest_memory():
    buffered = make_cell(direct=False, working_set_bytes=3 * GiB)
    r = by_id(check_cell(evidence(buffered, facts={"guest_memory_bytes": str(2 * GiB)}), CLEAN_REFS))[
        CheckId.WORKING_SET
    ]
    assert r.fired and r.evidence["cache_bytes"] == 2 * GiB


def test_faster_than_host():
    refs = References(host_cell=host_cell(bw=500 * MiB))
    r = by_id(check_cell(evidence(), refs))[CheckId.FASTER_THAN_HOST]
    assert r.fired and r.label == "faster than the host"
    assert r.evidence["ratio"] == pytest.approx(2.0)
    near = References(host_cell=host_cell(bw=950 * MiB), reference_facts=DISK_FACTS)
    assert by_id(check_cell(evidence(), near))[CheckId.FASTER_THAN_HOST].status is CheckStatus.PASSED
    unknown = by_id(check_cell(evidence(), References(host_cell=host_cell(bw=950 * MiB))))[CheckId.FASTER_THAN_HOST]
    assert unknown.status is CheckStatus.NOT_EVALUATED
    assert unknown.explanation == (
        "not evaluated: the storage path of the host was not recorded (target_path or device); "
        "1.05x the host's throughput"
    )
    assert by_id(check_cell(evidence(), References()))[CheckId.FASTER_THAN_HOST].explanation.startswith(
        "not evaluated: no reference"
    )
    assert (
        by_id(check_cell(evidence(), References(is_reference=True)))[CheckId.FASTER_THAN_HOST].status
        is CheckStatus.NOT_APPLICABLE
    )


def test_latency_floor():
    cached = [result_for(READ_CELL, 1000 * MiB, clat_p50_ns=8_000.0)] * 5
    r = by_id(check_cell(evidence(results=cached), CLEAN_REFS))[CheckId.LATENCY_FLOOR]
    assert r.fired and r.evidence == {"median_clat_p50_ns": 8_000.0, "host_qd1_clat_p50_ns": 80_000.0}
    assert (
        by_id(check_cell(evidence(results=cached), References()))[CheckId.LATENCY_FLOOR].status
        is CheckStatus.NOT_EVALUATED
    )
    seq = make_cell(pattern=Pattern.SEQ_READ)
    assert by_id(check_cell(evidence(seq), CLEAN_REFS))[CheckId.LATENCY_FLOOR].status is CheckStatus.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("cell", "shares", "fires"),
    [
        (READ_CELL, (0.3, 1.0), True),  # reads below 0.5
        (READ_CELL, (0.6, 1.0), False),
        (WRITE_CELL, (1.0, 0.8), True),  # writes with end_fsync below 0.9
        (WRITE_CELL, (1.0, 0.95), False),
        (make_cell(pattern=Pattern.MIXED_RAND, read_percent=70), (0.2, 1.2), True),
    ],
)
def test_byte_accounting(cell, shares, fires):
    r = by_id(check_cell(evidence(cell, shares=shares), CLEAN_REFS))[CheckId.BYTE_ACCOUNTING]
    assert r.fired is fires
    if fires:
        assert "a cache absorbed the IO" in r.explanation


def test_byte_accounting_needs_a_device_and_samples():
    no_device = evidence(facts={"device": ""})
    assert by_id(check_cell(no_device, CLEAN_REFS))[CheckId.BYTE_ACCOUNTING].status is CheckStatus.NOT_EVALUATED
    r = result_for(READ_CELL, 1000 * MiB)
    no_samples = CellEvidence(READ_CELL, "env", "host", dict(DISK_FACTS), (TrialEvidence(1, TrialStatus.OK, None, r),))
    assert by_id(check_cell(no_samples, CLEAN_REFS))[CheckId.BYTE_ACCOUNTING].status is CheckStatus.NOT_EVALUATED


def test_flush_not_honoured():
    refs = References(host_flush_latency_ns=400_000.0, env_flush_latency_ns=15_000.0)
    r = by_id(check_cell(evidence(WRITE_CELL), refs))[CheckId.FLUSH]
    assert r.fired and r.label == "flushes not honoured"
    assert by_id(check_cell(evidence(READ_CELL), refs))[CheckId.FLUSH].status is CheckStatus.NOT_APPLICABLE
    assert (
        by_id(check_cell(evidence(WRITE_CELL), References(env_flush_latency_ns=1.0)))[CheckId.FLUSH].status
        is CheckStatus.NOT_EVALUATED
    )
    assert (
        by_id(check_cell(evidence(WRITE_CELL), References(host_flush_latency_ns=1.0)))[CheckId.FLUSH].status
        is CheckStatus.NOT_EVALUATED
    )


def test_run_sanity():
    bad = with_problems(result_for(READ_CELL, 1000 * MiB), "read: 12 short IOs (fewer bytes than asked)")
    r = by_id(check_cell(evidence(results=[bad] + [result_for(READ_CELL, 1000 * MiB)] * 4), CLEAN_REFS))[
        CheckId.RUN_SANITY
    ]
    assert r.fired and r.evidence == {"trials_with_problems": 1, "trials": 5}
    assert "short IOs" in r.explanation
    big_blocks = make_cell(block_size_bytes=8 << 20)
    tiny = result_for(big_blocks, 1 * MiB)  # 8 MiB blocks at 1 MiB/s for 30 s: 3 IOs
    assert (
        "only 3 IOs"
        in by_id(check_cell(evidence(big_blocks, results=[tiny]), CLEAN_REFS))[CheckId.RUN_SANITY].explanation
    )
    failed = CellEvidence(
        READ_CELL, "env", "host", dict(DISK_FACTS), (TrialEvidence(1, TrialStatus.FAILED, "fio exited with 1", None),)
    )
    assert by_id(check_cell(failed, CLEAN_REFS))[CheckId.RUN_SANITY].fired


def test_software_emulation():
    r = by_id(check_cell(evidence(facts={"accelerator": "tcg"}, kind="qemu"), CLEAN_REFS))[CheckId.SOFTWARE_EMULATION]
    assert r.fired and r.label == "software emulation (TCG)"
    caveat = by_id(
        check_cell(evidence(facts={"accelerator": "tcg", "timing_caveat": "no KVM here"}, kind="qemu"), CLEAN_REFS)
    )
    assert caveat[CheckId.SOFTWARE_EMULATION].explanation.startswith("no KVM here")
    assert (
        by_id(check_cell(evidence(kind="qemu"), CLEAN_REFS))[CheckId.SOFTWARE_EMULATION].status
        is CheckStatus.NOT_EVALUATED
    )
    assert (
        by_id(check_cell(evidence(kind="host"), CLEAN_REFS))[CheckId.SOFTWARE_EMULATION].status
        is CheckStatus.NOT_APPLICABLE
    )


def test_thresholds_are_configurable():
    refs = References(host_cell=host_cell(bw=800 * MiB))
    assert by_id(check_cell(evidence(), refs))[CheckId.FASTER_THAN_HOST].fired
    assert not by_id(check_cell(evidence(), refs, Thresholds(faster_than_host=1.5)))[CheckId.FASTER_THAN_HOST].fired


def _old_mistake_run():
    """The naive benchmark on purpose: a microVM with the host page cache in its path, fast
    and flush-free, next to a host that is honest, and a clean container."""
    b = RunBuilder(
        {
            "host": ("host", dict(DISK_FACTS)),
            "ctr": ("container", {**DISK_FACTS, "mount_kind": "bind"}),
            "vm": ("firecracker", {**DISK_FACTS, "host_page_cache_in_path": "yes", "accelerator": "kvm"}),
        }
    )
    mixed = make_cell(workload="mixed", pattern=Pattern.MIXED_RAND, read_percent=70, working_set_bytes=12 * MiB)
    for env, bw, lat in (("host", 1.4 * MiB, 90_000.0), ("ctr", 1.4 * MiB, 95_000.0), ("vm", 17.5 * MiB, 6_000.0)):
        for _ in range(5):
            r = result_for(mixed, bw, clat_p50_ns=lat)
            b.add(
                mixed,
                env,
                r,
                samples=device_sample(
                    r, read_share=0.05 if env == "vm" else 1.1, write_share=0.1 if env == "vm" else 1.1
                ),
            )
    for env, sync in (("host", 500_000.0), ("ctr", 510_000.0), ("vm", 12_000.0)):
        b.add_values(PROBE_CELL, env, [4 * MiB] * 5, sync_p50_ns=sync)
    b.add_values(QD1_CELL, "host", [50 * MiB] * 5)
    return b, mixed


def test_check_run_flags_the_old_mistake_and_not_the_honest_environments():
    b, mixed = _old_mistake_run()
    checks = check_run(b.build(), b.samples)
    vm = {r.check for r in checks[(mixed.key, "vm")] if r.fired}
    assert vm == {
        CheckId.WORKING_SET,
        CheckId.FASTER_THAN_HOST,
        CheckId.LATENCY_FLOOR,
        CheckId.BYTE_ACCOUNTING,
        CheckId.FLUSH,
    }
    assert not [r for r in checks[(mixed.key, "ctr")] if r.fired]
    assert not [r for r in checks[(mixed.key, "host")] if r.fired]
    labels = suspect_labels(checks)
    assert labels[(mixed.key, "vm")][:2] == ("host page cache in path", "faster than the host")
    assert (mixed.key, "ctr") not in labels


def test_check_run_without_references_says_not_evaluated():
    b = RunBuilder({"host": ("host", dict(DISK_FACTS)), "vm": ("qemu", dict(DISK_FACTS))})
    b.add_values(WRITE_CELL, "vm", [100 * MiB] * 3)
    checks = {r.check: r for r in check_run(b.build(), b.samples)[(WRITE_CELL.key, "vm")]}
    assert checks[CheckId.FASTER_THAN_HOST].status is CheckStatus.NOT_EVALUATED
    assert checks[CheckId.FLUSH].explanation == "not evaluated: no reference: the run has no host fsync probe"


def test_evidence_from_run_merges_trial_facts_and_takes_the_last_sample():
    b = RunBuilder()
    r = result_for(READ_CELL, 100 * MiB)
    b.add(READ_CELL, "host", r, facts={"working_set_warning": "too small", "fio_job": "[job]"})
    ev = evidence_from_run(b.build(), b.samples)[(READ_CELL.key, "host")]
    assert ev.facts["working_set_warning"] == "too small" and "fio_job" not in ev.facts
    assert ev.trials[0].device_read_bytes == int(r.read.io_bytes * 1.1)


def test_faster_than_host_needs_more_than_noise_and_skips_host_twins():
    import dataclasses

    from builders import make_cell, make_direction, make_result

    from iocompare.analysis.artifacts import (
        CellEvidence,
        CheckStatus,
        References,
        Thresholds,
        TrialEvidence,
        check_faster_than_host,
    )
    from iocompare.model import TrialStatus

    cell = make_cell()

    def evidence(kind, iops_values):
        results = [make_result(read=True, write=False) for _ in iops_values]
        results = [
            dataclasses.replace(r, read=make_direction(iops=v)) for r, v in zip(results, iops_values, strict=False)
        ]
        trials = tuple(TrialEvidence(i, TrialStatus.OK, None, r, None, None) for i, r in enumerate(results))
        return CellEvidence(cell, "env", kind, {"target_path": "/mnt/t"}, trials)

    host = evidence("host", [100_000, 100_000, 100_000])
    refs = References(host_cell=host, reference_facts={"target_path": "/mnt/t"})
    noisy = evidence("container", [80_000, 115_000, 130_000])  # median 1.15x, slowest below the host
    clear = evidence("container", [125_000, 130_000, 135_000])
    twin = evidence("host", [125_000, 130_000, 135_000])
    assert check_faster_than_host(noisy, refs, Thresholds()).status is CheckStatus.PASSED
    assert check_faster_than_host(clear, refs, Thresholds()).status is CheckStatus.FIRED
    assert check_faster_than_host(twin, refs, Thresholds()).status is CheckStatus.NOT_APPLICABLE


def test_run_sanity_fires_when_most_trials_never_reached_steady_state():
    attained = "attained (bw_slope:2%; slope 0.4% per second)"
    missed = "not attained within the maximum runtime (bw_slope:2%; last slope 7.5% per second)"
    result = result_for(READ_CELL, 1000 * MiB)

    def cell_with(states):
        trials = tuple(
            TrialEvidence(i, TrialStatus.OK, None, result, fio_exit_code=0, steady_state=state)
            for i, state in enumerate(states)
        )
        return CellEvidence(READ_CELL, "env", "host", dict(DISK_FACTS), trials)

    mostly_steady = by_id(check_cell(cell_with([attained] * 3 + [missed] * 2), CLEAN_REFS))[CheckId.RUN_SANITY]
    assert mostly_steady.status is CheckStatus.PASSED
    assert "steady state attained in 3 of 5" in mostly_steady.explanation
    drifting = by_id(check_cell(cell_with([attained] * 2 + [missed] * 3), CLEAN_REFS))[CheckId.RUN_SANITY]
    assert drifting.fired and drifting.evidence == {"trials_with_problems": 3, "trials": 5}
    assert "steady state not attained within the maximum runtime in 3 of 5 trials" in drifting.explanation
    fixed_length = by_id(check_cell(cell_with([None] * 5), CLEAN_REFS))[CheckId.RUN_SANITY]
    assert fixed_length.status is CheckStatus.PASSED and "steady" not in fixed_length.explanation
