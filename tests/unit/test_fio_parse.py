"""Parsing real fio 3.33 output (tests/fixtures/fio, see its README) against the raw JSON."""

from __future__ import annotations

import json
import math
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from iocompare.engines.fio_latency import percentile_from_bins
from iocompare.engines.fio_parse import parse_fio_output
from iocompare.errors import FioOutputError
from iocompare.model import Cell, Pattern

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
QUANTILES = {"p50_ns": "50.000000", "p99_ns": "99.000000", "p999_ns": "99.900000"}
# Fixtures with one result entry that has samples: fio's own percentiles are the reference.
SINGLE_ENTRY = [
    "randread_qd32_4k.json",
    "randread_qd32_4k_plain.json",
    "randrw_70_30.json",
    "seqwrite_1m.json",
    "fsync_probe.json",
    "client_server_fsync_probe.json",
]
ALL_FIXTURES = sorted(p.name for p in FIXTURES.glob("*.json"))


def text_of(name: str) -> str:
    return (FIXTURES / name).read_text()


def raw_entries(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The fixture's JSON document and job entries, decoded here independently of the parser."""
    text = text_of(name)
    start = 0 if text.startswith("{") else text.index("\n{") + 1
    document = json.loads(text[start:])
    entries = document.get("jobs") or [e for e in document["client_stats"] if e["jobname"] != "All clients"]
    return document, entries


def make_cell(pattern: Pattern, runtime_s: int = 1, read_percent: int | None = None) -> Cell:
    return Cell(pattern.value, pattern, 4096, 32, 1, read_percent, "libaio", True, runtime_s, 0, 64 << 20)


def brute_force_percentile(bins: dict[int, int], q: float) -> float:
    """Expand the histogram into one value per IO and index it directly."""
    values = sorted(value for value, count in bins.items() for _ in range(count))
    rank = math.ceil(Fraction(q) * len(values) / 100)  # exact: no float rounding at a boundary
    return float(values[max(rank, 1) - 1])


def merged_bins(entries: list[dict[str, Any]], ddir: str, kind: str) -> dict[int, int]:
    merged: Counter[int] = Counter()
    for entry in entries:
        for value, count in entry[ddir][kind].get("bins", {}).items():
            merged[int(value)] += count
    return dict(merged)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_sums_match_the_raw_json(name: str) -> None:
    document, entries = raw_entries(name)
    result = parse_fio_output(text_of(name))

    assert result.fio_version == document["fio version"] == "fio-3.33"
    assert result.job_count == len(entries)
    assert result.error == max(e["error"] for e in entries)
    assert result.cpu_usr_pct == pytest.approx(sum(e["usr_cpu"] for e in entries) / len(entries))
    assert result.cpu_sys_pct == pytest.approx(sum(e["sys_cpu"] for e in entries) / len(entries))
    for ddir in ("read", "write"):
        direction = getattr(result, ddir)
        total_ios = sum(e[ddir]["total_ios"] for e in entries)
        if total_ios == 0:
            assert direction is None, f"{ddir} had no IO and no cell asked for it"
            continue
        assert direction.io_bytes == sum(e[ddir]["io_bytes"] for e in entries)
        assert direction.total_ios == total_ios
        assert direction.iops == pytest.approx(sum(e[ddir]["iops"] for e in entries))
        assert direction.bw_bps == pytest.approx(sum(e[ddir]["bw_bytes"] for e in entries))
        assert direction.runtime_ms == max(e[ddir]["runtime"] for e in entries)
        assert direction.drop_ios == sum(e[ddir]["drop_ios"] for e in entries)


@pytest.mark.parametrize("name", SINGLE_ENTRY)
def test_percentiles_from_bins_reproduce_fios_own(name: str) -> None:
    _, entries = raw_entries(name)
    (entry,) = entries
    result = parse_fio_output(text_of(name))
    checked = 0
    for ddir in ("read", "write"):
        if entry[ddir]["total_ios"] == 0:
            continue
        for kind, attribute in (("lat_ns", "lat"), ("clat_ns", "clat")):
            fio_percentiles = entry[ddir][kind]["percentile"]
            ours = getattr(getattr(result, ddir), attribute)
            for field, key in QUANTILES.items():
                assert getattr(ours, field) == fio_percentiles[key], (ddir, kind, key)
                checked += 1
    assert checked >= 6


def test_plain_json_has_no_bins_and_falls_back_to_fios_percentiles() -> None:
    _, (entry,) = raw_entries("randread_qd32_4k_plain.json")
    assert "bins" not in entry["read"]["clat_ns"]
    result = parse_fio_output(text_of("randread_qd32_4k_plain.json"))
    assert result.read.clat.p99_ns == entry["read"]["clat_ns"]["percentile"]["99.000000"]
    assert result.read.lat.p999_ns == entry["read"]["lat_ns"]["percentile"]["99.900000"]


def test_two_jobs_without_group_reporting_merge_their_bins() -> None:
    _, entries = raw_entries("randread_two_jobs_no_group.json")
    assert len(entries) == 2
    result = parse_fio_output(text_of("randread_two_jobs_no_group.json"))
    assert result.job_count == 2
    for kind, attribute in (("clat_ns", "clat"), ("lat_ns", "lat")):
        merged = merged_bins(entries, "read", kind)
        assert sum(merged.values()) == result.read.total_ios
        ours = getattr(result.read, attribute)
        for field, q in (("p50_ns", 50.0), ("p99_ns", 99.0), ("p999_ns", 99.9)):
            assert getattr(ours, field) == brute_force_percentile(merged, q)
        per_job_p99 = [e["read"][kind]["percentile"]["99.000000"] for e in entries]
        assert ours.p99_ns != sum(per_job_p99) / 2, "merging must not equal averaging per-job percentiles"
    mean_by_hand = sum(e["read"]["lat_ns"]["mean"] * e["read"]["lat_ns"]["N"] for e in entries) / result.read.total_ios
    assert result.read.lat_mean_ns == pytest.approx(mean_by_hand)
    assert result.read.lat_min_ns == min(e["read"]["lat_ns"]["min"] for e in entries)
    assert result.read.lat_max_ns == max(e["read"]["lat_ns"]["max"] for e in entries)


def test_client_server_aggregate_is_not_counted_twice() -> None:
    text = text_of("client_server_two_clients.json")
    assert not text.startswith("{"), "fixture keeps the clients' console lines before the JSON"
    document, entries = raw_entries("client_server_two_clients.json")
    (aggregate,) = [e for e in document["client_stats"] if e["jobname"] == "All clients"]
    result = parse_fio_output(text)
    assert result.job_count == len(entries) == 2
    assert result.write is None
    assert result.read.io_bytes == aggregate["read"]["io_bytes"]
    assert result.read.total_ios == aggregate["read"]["total_ios"]
    assert result.cpu_sys_pct == pytest.approx(aggregate["sys_cpu"])
    assert result.read.clat.p99_ns == brute_force_percentile(merged_bins(entries, "read", "clat_ns"), 99.0)
    assert result.problems == ()


@pytest.mark.parametrize("name", ["fsync_probe.json", "client_server_fsync_probe.json"])
def test_fdatasync_latency_and_fios_misfiled_sync_count(name: str) -> None:
    _, (entry,) = raw_entries(name)
    sync = entry["sync"]
    # The fio 3.33 quirk the parser works around: datasyncs are counted in read's short_ios.
    assert sync["total_ios"] == 0 and entry["read"]["short_ios"] == sync["lat_ns"]["N"] > 0
    result = parse_fio_output(text_of(name), cell=make_cell(Pattern.FSYNC_PROBE))
    assert result.read is None
    assert result.write.total_ios == entry["write"]["total_ios"]
    assert result.sync.p50_ns == sync["lat_ns"]["percentile"]["50.000000"]
    assert result.sync.p999_ns == sync["lat_ns"]["percentile"]["99.900000"]
    assert result.problems == ()


def test_fsync_counts_land_in_sync_total_ios_and_plain_json_sync_percentiles_are_used() -> None:
    _, (entry,) = raw_entries("fsync_not_fdatasync_plain.json")
    assert entry["sync"]["total_ios"] == entry["sync"]["lat_ns"]["N"] > 0
    assert entry["read"]["short_ios"] == 0 and "bins" not in entry["sync"]["lat_ns"]
    result = parse_fio_output(text_of("fsync_not_fdatasync_plain.json"))
    assert result.sync.p99_ns == entry["sync"]["lat_ns"]["percentile"]["99.000000"]
    assert result.read is None and result.problems == ()


def test_misfiled_datasyncs_are_not_reported_as_short_reads() -> None:
    # A cell that expects reads keeps the read side, so its short_ios must be corrected.
    result = parse_fio_output(text_of("fsync_probe.json"), cell=make_cell(Pattern.MIXED_SEQ, read_percent=50))
    assert result.read is not None and result.read.short_ios == 0
    assert result.problems == ("read: no IO completed, but the pattern expects reads",)

    # Mixed reads with fdatasync: only the datasync count is taken out, real short reads stay.
    document, _ = raw_entries("randrw_70_30.json")
    job = document["jobs"][0]
    job["sync"] = {"total_ios": 0, "lat_ns": {"min": 1, "max": 9, "mean": 5.0, "N": 40, "bins": {"5": 40}}}
    job["read"]["short_ios"] = 40 + 2
    result = parse_fio_output(json.dumps(document))
    assert result.read.short_ios == 2
    assert result.sync.p50_ns == 5.0
    assert result.problems == ("read: 2 short IOs (fewer bytes than asked)",)


def test_jobs_without_syncs_have_no_sync_percentiles() -> None:
    assert parse_fio_output(text_of("seqwrite_1m.json")).sync is None


def test_mixed_fixture_with_its_cell_has_both_directions_and_no_problems() -> None:
    result = parse_fio_output(text_of("randrw_70_30.json"), cell=make_cell(Pattern.MIXED_RAND, read_percent=70))
    assert result.read.iops > 2 * result.write.iops > 0
    assert result.problems == ()
    assert result.total_iops == pytest.approx(result.read.iops + result.write.iops)


def test_expected_direction_without_io_is_present_and_reported() -> None:
    result = parse_fio_output(text_of("randread_qd32_4k.json"), cell=make_cell(Pattern.MIXED_RAND, read_percent=70))
    assert result.write is not None and result.write.io_bytes == 0
    assert result.write.lat.p99_ns is None
    assert any(p.startswith("write: no IO completed") for p in result.problems)
    assert parse_fio_output(text_of("randread_qd32_4k.json")).write is None


def test_fio_error_is_reported() -> None:
    result = parse_fio_output(text_of("unaligned_bs_error.json"), cell=make_cell(Pattern.RAND_READ))
    assert result.error == 22
    assert "fio reported error 22 (Invalid argument)" in result.problems
    assert "read: no IO completed, but the pattern expects reads" in result.problems


def test_missing_file_gives_error_0_but_no_io_which_is_reported() -> None:
    text = text_of("missing_file_error.json")
    assert text.startswith("fio: file creation disallowed")
    result = parse_fio_output(text, cell=make_cell(Pattern.RAND_READ))
    assert result.error == 0
    assert result.problems == ("read: no IO completed, but the pattern expects reads",)
    assert parse_fio_output(text).problems == ("no IO completed in either direction",)


def test_runtime_shorter_than_asked_is_reported() -> None:
    result = parse_fio_output(text_of("randread_qd32_4k.json"), cell=make_cell(Pattern.RAND_READ, runtime_s=2))
    assert result.problems == ("runtime 1001 ms is shorter than 95% of the asked 2000 ms",)


def test_short_and_dropped_ios_are_reported() -> None:
    document, _ = raw_entries("randrw_70_30.json")
    document["jobs"][0]["write"]["short_ios"] = 3
    document["jobs"][0]["read"]["drop_ios"] = 2
    result = parse_fio_output("fio: some warning\n" + json.dumps(document))
    assert result.write.short_ios == 3 and result.read.drop_ios == 2
    assert "write: 3 short IOs (fewer bytes than asked)" in result.problems
    assert "read: 2 dropped IOs" in result.problems


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "fio: engine libaio not loadable\n", "{ broken", "[1, 2]", '"{"', "null"],
)
def test_garbage_raises(text: str) -> None:
    with pytest.raises(FioOutputError):
        parse_fio_output(text)


def _without(path: tuple[str, ...]) -> str:
    document, _ = raw_entries("randread_qd32_4k.json")
    node = document
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return json.dumps(document)


@pytest.mark.parametrize(
    "path",
    [("fio version",), ("jobs",), ("jobs", 0, "read"), ("jobs", 0, "read", "io_bytes"), ("jobs", 0, "usr_cpu")],
)
def test_missing_keys_raise(path: tuple[str, ...]) -> None:
    with pytest.raises(FioOutputError):
        parse_fio_output(_without(path))


def test_wrong_types_and_empty_job_lists_raise() -> None:
    document, _ = raw_entries("randread_qd32_4k.json")
    document["jobs"][0]["read"]["io_bytes"] = "lots"
    with pytest.raises(FioOutputError, match=r"field jobs\[0\]\.read\.io_bytes is not a number"):
        parse_fio_output(json.dumps(document))
    with pytest.raises(FioOutputError, match="no jobs"):
        parse_fio_output(json.dumps({"fio version": "fio-3.33", "jobs": []}))


def test_percentile_from_bins_follows_fios_rule() -> None:
    bins = {100: 50, 200: 49, 300: 1}
    assert percentile_from_bins(bins, 50) == 100.0  # cumulative 50 reaches 50 % of 100
    assert percentile_from_bins(bins, 99) == 200.0
    assert percentile_from_bins(bins, 99.9) == 300.0
    assert percentile_from_bins({7: 1}, 100) == 7.0
    for bad_q in (0, -1, 100.5):
        with pytest.raises(ValueError):
            percentile_from_bins(bins, bad_q)
    for bad_bins in ({}, {5: 0}, {5: -1, 6: 2}):
        with pytest.raises(ValueError):
            percentile_from_bins(bad_bins, 50)


histograms = st.dictionaries(
    keys=st.integers(min_value=1, max_value=10**10),
    values=st.integers(min_value=0, max_value=500),
    min_size=1,
    max_size=40,
).filter(lambda bins: sum(bins.values()) > 0)


@given(bins=histograms, q=st.floats(min_value=0.001, max_value=100))
def test_percentile_properties(bins: dict[int, int], q: float) -> None:
    p50, p99, p999 = (percentile_from_bins(bins, x) for x in (50, 99, 99.9))
    assert p50 <= p99 <= p999
    occupied = [value for value, count in bins.items() if count > 0]
    assert min(occupied) <= percentile_from_bins(bins, q) <= max(occupied)
    assert percentile_from_bins(bins, q) in {float(v) for v in occupied}
    if sum(bins.values()) <= 2000:
        assert percentile_from_bins(bins, q) == brute_force_percentile(bins, q)


def test_a_trial_ended_at_steady_state_is_not_short_and_says_so() -> None:
    # randread_steady_attained.fio: runtime 20 s at most, bw_slope:50% over 2 s: fio stops early.
    result = parse_fio_output(text_of("randread_steady_attained.json"), cell=make_cell(Pattern.RAND_READ, runtime_s=20))
    assert result.steady_state is not None and result.steady_state.attained
    assert result.steady_state.limit == "bw_slope:50%"
    assert result.read is not None and result.read.runtime_ms < 20_000 * 0.95
    assert result.problems == ()
    assert result.steady_state.describe().startswith("attained (bw_slope:50%; slope ")


def test_steady_state_not_attained_runs_to_the_maximum() -> None:
    # randread_steady_not_attained.fio: bw_slope:0.001% cannot hold; fio runs its full 5 s.
    result = parse_fio_output(
        text_of("randread_steady_not_attained.json"), cell=make_cell(Pattern.RAND_READ, runtime_s=5)
    )
    assert result.steady_state is not None and not result.steady_state.attained
    assert result.problems == ()  # judged over the cell's trials by run-sanity, not per trial
    assert result.steady_state.describe().startswith("not attained within the maximum runtime (bw_slope:0.001%")


def test_jobs_without_the_rule_have_no_steady_state_outcome() -> None:
    assert parse_fio_output(text_of("randread_qd32_4k.json")).steady_state is None
