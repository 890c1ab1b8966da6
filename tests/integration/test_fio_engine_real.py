"""Render, run with the real fio and parse: fio must accept every option iocompare writes.

Short runs (1 s each) on a 64 MiB file in tmp_path; skipped when fio is not installed.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from iocompare.engines.fio_job import render_job, render_layout_job
from iocompare.engines.fio_parse import parse_fio_output
from iocompare.model import Cell, Pattern

FIO = Path("/usr/bin/fio")
WORKING_SET_BYTES = 64 << 20
# fio's messages for options it rejects or does not know.
REJECTION_MARKERS = ("unknown option", "invalid", "bad option", "failed parsing", "job dropped")

pytestmark = pytest.mark.skipif(not FIO.exists(), reason="fio is not installed at /usr/bin/fio")


def tiny_cell(pattern: Pattern, **changes: object) -> Cell:
    cell = Cell(
        workload=f"it-{pattern.value}",
        pattern=pattern,
        block_size_bytes=4096,
        iodepth=8,
        numjobs=1,
        read_percent=70 if pattern.mixed else None,
        ioengine="libaio",
        direct=True,
        runtime_s=1,
        ramp_s=0,
        working_set_bytes=WORKING_SET_BYTES,
    )
    return dataclasses.replace(cell, **changes)


def run_fio(job_text: str, directory: Path, name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    job_file = directory / f"{name}.fio"
    job_file.write_text(job_text)
    output = directory / f"{name}.json"
    argv = [str(FIO), *extra, f"--output={output}", str(job_file)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return completed, output


def assert_accepted(completed: subprocess.CompletedProcess[str]) -> None:
    messages = (completed.stdout + completed.stderr).lower()
    assert completed.returncode == 0, completed.stderr
    for marker in REJECTION_MARKERS:
        assert marker not in messages, f"fio complained ({marker!r}): {completed.stderr}"


@pytest.fixture(scope="module")
def laid_out_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("fio-ws")
    data = directory / "ws.bin"
    completed, _ = run_fio(
        render_layout_job(filename=str(data), size_bytes=WORKING_SET_BYTES), directory, "layout", "--output-format=json"
    )
    assert_accepted(completed)
    assert data.stat().st_size == WORKING_SET_BYTES
    yield data
    data.unlink(missing_ok=True)  # pytest keeps old tmp dirs; do not leave 64 MiB behind


@pytest.mark.parametrize("pattern", [p for p in Pattern if not p.network])  # network patterns run iperf3/sockperf
def test_fio_parses_every_rendered_pattern(pattern: Pattern, laid_out_file: Path, tmp_path: Path) -> None:
    # --parse-only checks the options without doing IO, so every pattern is cheap to cover.
    completed, _ = run_fio(
        render_job(tiny_cell(pattern), filename=str(laid_out_file), seed=1), tmp_path, "p", "--parse-only"
    )
    assert_accepted(completed)


@pytest.mark.parametrize(
    "cell",
    [
        tiny_cell(Pattern.RAND_READ),
        tiny_cell(Pattern.MIXED_RAND, numjobs=2),  # offset_increment, rwmixread, write options
        tiny_cell(Pattern.FSYNC_PROBE, iodepth=1),  # fdatasync
    ],
    ids=lambda cell: cell.pattern.value,
)
def test_real_run_is_accepted_and_parses_cleanly(cell: Cell, laid_out_file: Path, tmp_path: Path) -> None:
    job = render_job(cell, filename=str(laid_out_file), seed=20240601)
    completed, output = run_fio(job, tmp_path, "trial", "--output-format=json+")
    assert_accepted(completed)

    result = parse_fio_output(output.read_text(), cell=cell)
    assert result.problems == ()
    assert result.error == 0
    assert result.job_count == 1  # group_reporting folds the jobs into one entry
    assert result.total_iops > 0
    assert result.fio_version.startswith("fio-")
    for direction, expected in ((result.read, cell.pattern.reads), (result.write, cell.pattern.writes)):
        assert (direction is not None) == expected
        if direction is not None:
            assert direction.io_bytes > 0
            assert direction.clat.p50_ns is not None and direction.lat.p999_ns is not None
            assert direction.clat.p50_ns <= direction.clat.p99_ns <= direction.clat.p999_ns
    assert (result.sync is not None) == (cell.pattern is Pattern.FSYNC_PROBE)
    assert laid_out_file.stat().st_size == WORKING_SET_BYTES, "trials must not grow the laid-out file"
