"""iperf3 3.12 and sockperf 3.7 outputs (tests/fixtures/net, from this machine's real tools) parsed
against the raw text, their command lines, and bad input: one LoadOutputError, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.engines import iperf3, sockperf
from iocompare.engines.net_binary import parse_iperf3_version, parse_sockperf_version
from iocompare.engines.net_result import from_iperf3, from_sockperf
from iocompare.errors import LoadOutputError, UserError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "net"
TCP = (FIXTURES / "iperf3-3.12-tcp-64k-P2.json").read_text()
UDP = (FIXTURES / "iperf3-3.12-udp-8k.json").read_text()
PING = (FIXTURES / "sockperf-3.7-tcp-pp-4k.txt").read_text()


def test_tcp_stream_reads_what_arrived_and_leaves_out_the_ramp() -> None:
    raw = json.loads(TCP)
    result = iperf3.parse_iperf3(TCP)
    assert result.received_bps == raw["end"]["sum_received"]["bits_per_second"]
    assert result.bytes_received == raw["end"]["sum_received"]["bytes"]
    assert result.retransmits == raw["end"]["sum_sent"]["retransmits"]
    assert (result.message_bytes, result.streams, result.reverse) == (65536, 2, False)
    assert result.interval_bps == tuple(
        i["sum"]["bits_per_second"] for i in raw["intervals"] if not i["sum"].get("omitted")
    )
    assert len(result.interval_bps) == len(raw["intervals"]) - 1  # one omitted second
    assert result.sender_cpu_pct == raw["end"]["cpu_utilization_percent"]["host_total"]
    assert result.congestion == "bbr"


def test_reverse_makes_the_remote_the_sender() -> None:
    raw = json.loads(TCP)
    raw["start"]["test_start"]["reverse"] = 1
    result = iperf3.parse_iperf3(json.dumps(raw))
    assert result.sender_cpu_pct == raw["end"]["cpu_utilization_percent"]["remote_total"]


def test_udp_stream_keeps_the_loss() -> None:
    raw = json.loads(UDP)
    result = iperf3.parse_iperf3(UDP)
    assert result.protocol == "UDP" and result.retransmits is None
    assert result.lost_percent == raw["end"]["sum"]["lost_percent"]
    assert result.received_bps == raw["end"]["sum_received"]["bits_per_second"]


def test_iperf3_result_is_stored_as_bytes_per_second_on_the_read_side() -> None:
    result = iperf3.parse_iperf3(TCP)
    stored = from_iperf3(result)
    assert stored.read is not None and stored.write is None
    assert stored.read.bw_bps == result.received_bps / 8
    assert stored.total_bw_bps == result.received_bps / 8
    assert stored.fio_version == "iperf3-3.12"


def test_iperf3_error_document_is_one_error() -> None:
    text = json.dumps({"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server"})
    with pytest.raises(LoadOutputError, match="unable to connect"):
        iperf3.parse_iperf3(text)


def test_client_argv_spells_every_option() -> None:
    spec = iperf3.Iperf3Spec("198.18.4.2", 5201, True, 8192, 4, True, 10, 2)
    argv = iperf3.client_argv("/usr/bin/iperf3", spec)
    assert argv[:5] == ["/usr/bin/iperf3", "-c", "198.18.4.2", "-p", "5201"]
    for pair in (["-l", "8192"], ["-P", "4"], ["-t", "10"], ["-O", "2"], ["-b", "0"]):
        index = argv.index(pair[0])
        assert argv[index : index + 2] == pair
    assert "-R" in argv and "-u" in argv and "-J" in argv
    assert iperf3.server_argv("iperf3", "198.18.4.2", 5201) == ["iperf3", "-s", "-1", "-B", "198.18.4.2", "-p", "5201"]


def test_sockperf_summary_is_read_line_by_line() -> None:
    result = sockperf.parse_sockperf(PING)
    assert result.version == "3.7-no.git"
    assert (result.seconds, result.sent, result.received, result.dropped) == (1.55, 253501, 253501, 0)
    assert (result.rtt_mean_us, result.rtt_min_us, result.rtt_max_us) == (6.075, 4.474, 4410.321)
    assert result.percentile_us(50.0) == 5.125
    assert result.percentile_us(99.0) == 13.106
    assert result.percentile_us(99.9) == 58.279
    stored = from_sockperf(result, 4096)
    assert stored.read is not None
    assert stored.read.lat.p99_ns == pytest.approx(13106.0)
    assert stored.read.iops == pytest.approx(253501 / 1.55)
    assert stored.read.bw_bps == pytest.approx(253501 / 1.55 * 4096)


def test_sockperf_error_line_is_one_error() -> None:
    text = (
        "sockperf: == version #3.7-no.git == \nsockperf: ERROR: Can`t connect socket (errno=111 Connection refused)\n"
    )
    with pytest.raises(LoadOutputError, match="Connection refused"):
        sockperf.parse_sockperf(text)


def test_sockperf_argv_asks_for_the_round_trip() -> None:
    argv = sockperf.client_argv("sockperf", sockperf.SockperfSpec("127.0.0.1", 11111, 512, 5))
    assert argv[:3] == ["sockperf", "ping-pong", "--tcp"] and "--full-rtt" in argv
    assert argv[argv.index("-m") + 1] == "512"


def test_versions_are_read_from_the_tools_own_words() -> None:
    assert parse_iperf3_version("iperf 3.12 (cJSON 1.7.15)\nLinux vm ...") == "3.12"
    assert parse_sockperf_version("sockperf, version 3.7-no.git\n   compiled ...") == "3.7-no.git"
    with pytest.raises(UserError):
        parse_iperf3_version("not iperf")


def _mutations(document: object) -> st.SearchStrategy[object]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
        max_leaves=8,
    )


def _replace_at(document: object, path: list[int], value: object) -> object:
    """The document with one nested value replaced (path picks keys by position)."""
    if not path or not isinstance(document, dict | list) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[path[0] % len(keys)]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace_at(document[key], path[1:], value)  # type: ignore[index, call-overload]
    return copy


@settings(max_examples=150, deadline=None)
@given(path=st.lists(st.integers(min_value=0, max_value=20), max_size=5), value=_mutations(None))
def test_any_damaged_iperf3_document_is_parsed_or_one_error(path: list[int], value: object) -> None:
    for text in (TCP, UDP):
        damaged = json.dumps(_replace_at(json.loads(text), path, value))
        try:
            result = iperf3.parse_iperf3(damaged)
        except LoadOutputError:
            continue
        assert result.received_bps >= 0 and result.seconds > 0


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_is_not_iperf3_json_or_one_error(text: str) -> None:
    try:
        iperf3.parse_iperf3(text)
    except LoadOutputError:
        pass


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(PING)), noise=st.text(max_size=40))
def test_any_cut_or_noisy_sockperf_summary_is_parsed_or_one_error(cut: int, noise: str) -> None:
    for text in (PING[:cut] + noise, noise + PING[cut:], PING[:cut] + noise + PING[cut:]):
        try:
            result = sockperf.parse_sockperf(text)
        except LoadOutputError:
            continue
        assert result.received > 0 and result.seconds > 0
