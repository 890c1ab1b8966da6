"""Rendered fio job files: the options METHODOLOGY.md asks for, per pattern, and nothing risky."""

from __future__ import annotations

import configparser
import dataclasses

import pytest

from iocompare.engines.fio_job import render_job, render_layout_job
from iocompare.errors import UserError
from iocompare.model import STORAGE_PATTERNS, Cell, Pattern, SteadyState

MIB = 1 << 20
FILENAME = "/data/iocompare/ws.bin"
RANDOM = {Pattern.RAND_READ, Pattern.RAND_WRITE, Pattern.MIXED_RAND}


def make_cell(pattern: Pattern = Pattern.RAND_READ, **changes: object) -> Cell:
    cell = Cell(
        workload=pattern.value,
        pattern=pattern,
        block_size_bytes=4096,
        iodepth=32,
        numjobs=1,
        read_percent=70 if pattern.mixed else None,
        ioengine="libaio",
        direct=True,
        runtime_s=30,
        ramp_s=5,
        working_set_bytes=1024 * MIB,
    )
    return dataclasses.replace(cell, **changes)


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=(";",), delimiters=("=",))
    parser.optionxform = str  # keep option names as written
    parser.read_string(text)
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def all_options(text: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for options in parse_ini(text).values():
        assert not set(options) & set(merged), "an option is set twice"
        merged.update(options)
    return merged


@pytest.mark.parametrize("pattern", STORAGE_PATTERNS)
def test_every_pattern_has_the_methodology_defaults(pattern: Pattern) -> None:
    cell = make_cell(pattern)
    text = render_job(cell, filename=FILENAME, seed=4242)
    sections = parse_ini(text)
    options = all_options(text)

    assert list(sections) == ["global", "trial"]
    assert options["ioengine"] == "libaio"
    assert options["direct"] == "1"
    assert options["filename"] == FILENAME
    assert options["allow_file_create"] == "0"
    assert options["size"] == str(1024 * MIB)
    assert options["bs"] == "4096"
    assert options["iodepth"] == "32"
    assert options["numjobs"] == "1"
    assert options["rw"] == pattern.fio_rw
    assert options["time_based"] == "1"
    assert options["ramp_time"] == "5"
    assert options["runtime"] == "30"
    assert options["randrepeat"] == "0"
    assert options["randseed"] == "4242"
    assert options["group_reporting"] == "1"
    assert options["lat_percentiles"] == "1"
    assert options["percentile_list"] == "50:99:99.9"
    assert "zero_buffers" not in options
    assert "offset_increment" not in options


@pytest.mark.parametrize("pattern", STORAGE_PATTERNS)
def test_pattern_specific_options(pattern: Pattern) -> None:
    options = all_options(render_job(make_cell(pattern), filename=FILENAME, seed=1))

    for name in ("refill_buffers", "overwrite", "end_fsync"):
        assert options.get(name) == ("1" if pattern.writes else None), name
    assert options.get("norandommap") == ("1" if pattern in RANDOM else None)
    assert options.get("rwmixread") == ("70" if pattern.mixed else None)
    assert options.get("fdatasync") == ("1" if pattern is Pattern.FSYNC_PROBE else None)


def test_fsync_probe_is_a_sequential_write_that_takes_bs_and_depth_from_the_cell() -> None:
    cell = make_cell(Pattern.FSYNC_PROBE, block_size_bytes=4096, iodepth=1)
    options = all_options(render_job(cell, filename=FILENAME, seed=1))
    assert (options["rw"], options["bs"], options["iodepth"], options["fdatasync"]) == ("write", "4096", "1", "1")


@pytest.mark.parametrize("pattern", STORAGE_PATTERNS)
def test_every_option_line_has_a_comment_line_above_it(pattern: Pattern) -> None:
    lines = render_job(make_cell(pattern), filename=FILENAME, seed=1).splitlines()
    option_lines = [i for i, line in enumerate(lines) if "=" in line and not line.startswith(";")]
    assert option_lines
    for index in option_lines:
        comment = lines[index - 1]
        assert comment.startswith("; ") and len(comment) > 5, f"no comment above {lines[index]!r}"


def test_no_zero_buffers_option_anywhere() -> None:
    texts = [render_job(make_cell(p), filename=FILENAME, seed=1) for p in STORAGE_PATTERNS]
    texts.append(render_layout_job(filename=FILENAME, size_bytes=64 * MIB))
    for text in texts:
        option_names = [line.split("=")[0].strip() for line in text.splitlines() if not line.startswith(";")]
        assert "zero_buffers" not in option_names


def test_several_jobs_split_the_working_set_into_disjoint_regions() -> None:
    cell = make_cell(Pattern.RAND_WRITE, numjobs=4, working_set_bytes=1024 * MIB)
    options = all_options(render_job(cell, filename=FILENAME, seed=1))
    assert options["numjobs"] == "4"
    assert options["size"] == str(256 * MIB)
    assert options["offset_increment"] == str(256 * MIB)


def test_uneven_split_is_rounded_down_to_whole_blocks() -> None:
    cell = make_cell(Pattern.RAND_READ, numjobs=3, block_size_bytes=MIB, working_set_bytes=100 * MIB)
    options = all_options(render_job(cell, filename=FILENAME, seed=1))
    assert options["size"] == options["offset_increment"] == str(33 * MIB)


def test_buffered_cell_renders_direct_0_with_an_explanation() -> None:
    text = render_job(make_cell(direct=False), filename=FILENAME, seed=1)
    assert all_options(text)["direct"] == "0"
    assert "page cache" in text.split("direct=0")[0].splitlines()[-1]


def test_rendering_is_deterministic_and_the_seed_only_changes_the_seed() -> None:
    cell = make_cell(Pattern.MIXED_RAND)
    first = render_job(cell, filename=FILENAME, seed=7)
    assert first == render_job(cell, filename=FILENAME, seed=7)
    second = render_job(cell, filename=FILENAME, seed=8)
    changed = [(a, b) for a, b in zip(first.splitlines(), second.splitlines(), strict=False) if a != b]
    assert changed == [
        (
            "; iocompare trial job: cell mixed-rand@4k, pattern mixed-rand, seed 7",
            "; iocompare trial job: cell mixed-rand@4k, pattern mixed-rand, seed 8",
        ),
        ("randseed=7", "randseed=8"),
    ]


def test_colon_in_filename_is_escaped_for_fio() -> None:
    options = all_options(render_job(make_cell(), filename="/mnt/a:b/ws.bin", seed=1))
    assert options["filename"] == "/mnt/a\\:b/ws.bin"


@pytest.mark.parametrize("filename", ["", " /x", "/x ", "/a;b", "/a#b", "/a/${HOME}", "/a\nb"])
def test_filenames_fio_would_misread_are_refused(filename: str) -> None:
    with pytest.raises(UserError):
        render_job(make_cell(), filename=filename, seed=1)


@pytest.mark.parametrize(
    "changes",
    [
        {"pattern": Pattern.MIXED_SEQ, "read_percent": None},
        {"pattern": Pattern.MIXED_RAND, "read_percent": 101},
        {"numjobs": 0},
        {"iodepth": 0},
        {"runtime_s": 0},
        {"block_size_bytes": 0},
        {"working_set_bytes": 4096, "numjobs": 2},
    ],
)
def test_impossible_cells_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(UserError):
        render_job(make_cell(**changes), filename=FILENAME, seed=1)


def test_layout_job_writes_the_whole_file_once_and_flushes() -> None:
    text = render_layout_job(filename=FILENAME, size_bytes=2048 * MIB)
    sections = parse_ini(text)
    assert list(sections) == ["layout"]
    options = sections["layout"]
    assert options["rw"] == "write"
    assert options["bs"] == str(MIB)
    assert options["size"] == str(2048 * MIB)
    assert options["direct"] == "1"
    assert options["end_fsync"] == "1"
    assert options["ioengine"] == "psync"
    assert options["filename"] == FILENAME
    for name in ("time_based", "runtime", "zero_buffers"):
        assert name not in options


def test_layout_block_size_divides_sizes_that_are_not_whole_mebibytes() -> None:
    options = parse_ini(render_layout_job(filename=FILENAME, size_bytes=MIB + 64 * 1024))["layout"]
    assert options["bs"] == str(64 * 1024)
    assert all_options(render_layout_job(filename=FILENAME, size_bytes=MIB, direct=False))["direct"] == "0"


@pytest.mark.parametrize("size_bytes", [0, -1, 1000])
def test_layout_refuses_sizes_it_cannot_write_exactly(size_bytes: int) -> None:
    with pytest.raises(UserError):
        render_layout_job(filename=FILENAME, size_bytes=size_bytes)


def test_steady_state_rule_ends_the_trial_after_the_ramp_and_keeps_runtime_as_the_maximum() -> None:
    cell = make_cell(ramp_s=2, runtime_s=10)
    plain = parse_ini(render_job(cell, filename=FILENAME, seed=7))["global"]
    steady = parse_ini(render_job(cell, filename=FILENAME, seed=7, steady_state=SteadyState(3, 2.0)))["global"]
    assert not {"steadystate", "ss_dur", "ss_ramp"} & set(plain)
    assert steady["steadystate"] == "bw_slope:2%"
    assert steady["ss_dur"] == "3"
    # fio's ss clock restarts at the ramp's end: at least the ramp keeps the rule out of the warm-up
    assert steady["ss_ramp"] == "2"
    assert (steady["runtime"], steady["ramp_time"], steady["time_based"]) == ("10", "2", "1")
    assert {k: v for k, v in steady.items() if not k.startswith(("ss", "steady"))} == plain
