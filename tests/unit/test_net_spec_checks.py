"""Network suites (message sizes, streams, directions, path names) and the network checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.analysis.artifacts import CellEvidence, CheckId, CheckStatus
from iocompare.analysis.netchecks import network_checks
from iocompare.engines.iperf3 import Iperf3Result
from iocompare.engines.net_result import from_iperf3
from iocompare.errors import UserError
from iocompare.execute.netmeasure import not_applicable
from iocompare.model import Trial, TrialStatus
from iocompare.spec.expand import expand
from iocompare.spec.load import load_suite, validate_suite
from iocompare.spec.network import MESSAGE_SIZES, Direction, direction_of
from iocompare.store.records import StoredTrial


def suite(**workload: object) -> dict[str, object]:
    return {
        "name": "n",
        "environments": ["loopback"],
        "workloads": [{"name": "w", "pattern": "tcp-stream", **workload}],
    }


def test_both_directions_are_two_workloads_per_message_size() -> None:
    loaded = validate_suite(suite(message_sizes=["4k", "1m"], direction="both", streams=4), "t")
    cells = expand(loaded, run_seed=1).cells
    assert [c.key for c in cells] == ["w.to-env@4k", "w.to-env@1m", "w.from-env@4k", "w.from-env@1m"]
    assert {c.numjobs for c in cells} == {4} and {c.working_set_bytes for c in cells} == {0}
    assert [direction_of(c) for c in cells] == [Direction.TO_ENV] * 2 + [Direction.FROM_ENV] * 2


@pytest.mark.parametrize("name", ["net-quick", "net-standard"])
def test_builtin_network_suites_load_and_expand(name: str) -> None:
    loaded = load_suite(name)
    assert loaded.network and all(c.pattern.network for c in expand(loaded, run_seed=3).cells)


@given(size=st.integers(min_value=1, max_value=1 << 24))
@settings(max_examples=80, deadline=None)
def test_a_message_size_is_a_power_of_two_from_512_b_to_8_mib(size: int) -> None:
    if size in MESSAGE_SIZES:
        assert validate_suite(suite(message_sizes=[size]), "t").workloads[0].message_sizes == [size]
        return
    with pytest.raises(UserError) as info:
        validate_suite(suite(message_sizes=[size]), "t")
    assert "message_sizes[0]" in info.value.message and "\n" not in info.value.one_line()


@pytest.mark.parametrize(
    ("workload", "words"),
    [
        ({"block_sizes": ["4k"]}, "block_sizes applies to storage patterns"),
        ({"iodepth": 4}, "iodepth applies to storage patterns"),
        ({"pattern": "tcp-rr", "streams": 2}, "tcp-rr is one ping-pong connection"),
        ({"pattern": "rand-read", "message_sizes": ["4k"]}, "apply to network patterns"),
    ],
)
def test_network_and_storage_fields_do_not_mix(workload: dict[str, object], words: str) -> None:
    data = suite(**workload)
    if workload.get("pattern") == "rand-read":
        data["environments"] = ["host"]
    with pytest.raises(UserError, match=words):
        validate_suite(data, "t")


def test_a_suite_is_storage_or_network() -> None:
    data = suite()
    data["workloads"] = [*data["workloads"], {"name": "r", "pattern": "rand-read"}]  # type: ignore[misc]
    data["environments"] = ["host"]
    with pytest.raises(UserError, match="either storage or network"):
        validate_suite(data, "t")


def test_storage_names_mean_network_paths_or_are_refused() -> None:
    data = suite()
    data["environments"] = ["host", "podman", "podman:host", "netns"]
    assert validate_suite(data, "t").environments == ["loopback", "podman-net", "podman-net:host", "netns"]
    data["environments"] = ["qemu"]
    with pytest.raises(UserError, match="'qemu' is not a network path"):
        validate_suite(data, "t")


def test_cells_beyond_the_tools_limits_are_not_applicable() -> None:
    cells = {c.key: c for c in expand(load_suite("net-standard"), run_seed=1).cells}
    assert not_applicable(cells["tcp.to-env@1m"]) is None
    assert "at most 1048576 B" in (not_applicable(cells["tcp.to-env@2m"]) or "")
    assert not_applicable(cells["rr@32k"]) is None
    assert "65506 B" in (not_applicable(cells["rr@64k"]) or "")


def _stored(index: int, cell, env: str, bps: float, facts: dict[str, str]) -> StoredTrial:  # type: ignore[no-untyped-def]
    stream = Iperf3Result("3.12", "TCP", cell.block_size_bytes, 1, False, 2.0, int(bps * 2), bps * 8, bps * 8,
                          None, None, (), None, None, None)  # fmt: skip
    trial = Trial(index, index, cell, env, 1)
    return StoredTrial(index, trial, TrialStatus.OK, None, 0.0, 1.0, 2.0, facts, from_iperf3(stream))


def _checks(env_bps: float, facts: dict[str, str], kind: str = "netns") -> dict[CheckId, CheckStatus]:
    cell = next(c for c in expand(load_suite("net-quick"), run_seed=1).cells if c.key == "tcp.to-env@64k")
    mine = [_stored(i, cell, "netns", env_bps, facts) for i in range(5)]
    loop = [_stored(10 + i, cell, "loopback", 1e9, {}) for i in range(5)]
    ev = CellEvidence(cell, "netns", kind, {}, ())
    return {r.check: r.status for r in network_checks(ev, mine, loop)}


def test_network_checks_fire_on_their_evidence() -> None:
    bad = {"net_retransmits": "100000", "net_interval_bps": json.dumps([1e9, 1e8, 9e8]), "net_sender_cpu_pct": "99.5"}
    fired = _checks(2e9, bad)
    assert fired[CheckId.FASTER_THAN_LOOPBACK] is CheckStatus.FIRED
    assert fired[CheckId.RETRANSMITS] is CheckStatus.FIRED
    assert fired[CheckId.UNSTEADY_STREAM] is CheckStatus.FIRED
    assert fired[CheckId.CPU_BOUND_SENDER] is CheckStatus.FIRED
    assert fired[CheckId.SOFTWARE_EMULATION] is CheckStatus.NOT_APPLICABLE
    good = {"net_retransmits": "0", "net_interval_bps": json.dumps([1e9, 1e9]), "net_sender_cpu_pct": "40"}
    assert set(_checks(5e8, good).values()) == {CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE}


def test_no_network_check_passes_without_its_facts() -> None:
    statuses = _checks(5e8, {}, kind="qemu-net")
    assert CheckStatus.PASSED not in {s for c, s in statuses.items() if c is not CheckId.FASTER_THAN_LOOPBACK}
    assert statuses[CheckId.SOFTWARE_EMULATION] is CheckStatus.NOT_EVALUATED
    assert statuses[CheckId.RETRANSMITS] is CheckStatus.NOT_EVALUATED


def test_a_storage_suite_refuses_network_paths() -> None:
    data = {"name": "s", "environments": ["host", "netns"], "workloads": [{"name": "r", "pattern": "rand-read"}]}
    with pytest.raises(UserError, match="'netns' is a network path"):
        validate_suite(data, "t")
