"""Writing reports to disk, whole or not at all: HTML to one file, Markdown to a directory with the
charts as PNG files beside report.md.

Everything is rendered into a temporary file or directory next to the destination and renamed
into place, so a failure (or Ctrl-C) never leaves half a report. A new directory appears in one
rename; into an existing directory the charts are moved first and report.md last, so a report.md
never points at a chart that is not there yet.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from iocompare.errors import UserError
from iocompare.model import Sample
from iocompare.report.atomic import check_parent, write_text_atomically
from iocompare.report.build import Report
from iocompare.report.cell_stats import cell_stats
from iocompare.report.chart_data import chart_data
from iocompare.report.chart_series import latency_distributions, throughput_series
from iocompare.report.html import LATENCY_CAPTION, TIMESERIES_CAPTION, render_html
from iocompare.report.markdown import render_markdown
from iocompare.report.plots import SUSPECT_NOTE, figure, latency_cdf_figure, timeseries_figure, to_png

MARKDOWN_NAME = "report.md"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_html(
    path: Path,
    report: Report,
    samples: Mapping[int, Sequence[Sample]] | None,
    raw_outputs: Mapping[int, str] | None = None,
) -> None:
    write_text_atomically(path, render_html(report, samples, raw_outputs))


def chart_file_name(index: int, workload: str) -> str:
    """A file name made from a user-chosen workload name: only [A-Za-z0-9._-], and numbered so
    two workloads that differ only in other characters never share a file."""
    slug = _UNSAFE.sub("-", workload).strip(".-")[:48] or "workload"
    return f"chart-{index + 1:02d}-{slug}.png"


def render_markdown_files(
    report: Report, samples: Mapping[int, Sequence[Sample]] | None, raw_outputs: Mapping[int, str] | None = None
) -> dict[str, bytes]:
    """File name -> content: report.md and its PNG charts."""
    files: dict[str, bytes] = {}
    entries = []
    series = throughput_series(report.run, samples or {})
    latency = latency_distributions(report.run, raw_outputs or {}, report.environments)
    for index, data in enumerate(chart_data(report, cell_stats(report.run, samples, report.analysis.policy))):
        name = chart_file_name(index, data.workload)
        fig = figure(data)
        files[name] = to_png(fig)
        fig.clear()
        what = "IOPS" if data.unit == "IOPS" else "throughput (MiB/s)"
        caption = f"{what} against block size (geometric mean, 95 % bootstrap CI from three trials on)"
        if data.ratios:
            caption += f"; ratio to {data.baseline} (95 % CI)"
        entries.append((data.title, name, caption + f"; {data.direction} latency p50/p99/p99.9; {SUSPECT_NOTE}."))
        ts_cells = [c for c in series if c.cell.workload == data.workload]
        lat_cells = [c for c in latency if c.cell.workload == data.workload]
        extras: list[tuple[str, str, Figure | None]] = [
            (
                "timeseries",
                TIMESERIES_CAPTION,
                timeseries_figure("", ts_cells, report.environments) if ts_cells else None,
            ),
            ("latency", LATENCY_CAPTION, latency_cdf_figure("", lat_cells, report.environments) if lat_cells else None),
        ]
        for suffix, text, extra_fig in extras:
            if extra_fig is None:
                continue
            extra_name = name.replace(".png", f"-{suffix}.png")
            files[extra_name] = to_png(extra_fig)
            extra_fig.clear()
            what_extra = "throughput over the trial" if suffix == "timeseries" else "latency distribution"
            entries.append((f"{data.title}: {what_extra}", extra_name, text))
    files[MARKDOWN_NAME] = render_markdown(report, entries).encode("utf-8")
    return files


def write_markdown_dir(
    directory: Path,
    report: Report,
    samples: Mapping[int, Sequence[Sample]] | None,
    raw_outputs: Mapping[int, str] | None = None,
) -> Path:
    """Write report.md and its charts into `directory` (created if missing). Returns report.md's path."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(
            f"--output {directory} exists and is not a directory",
            hint="a Markdown report with charts is a directory; pass a name ending in .md for the text only",
        )
    check_parent(directory.absolute())
    files = render_markdown_files(report, samples, raw_outputs)
    temp = Path(tempfile.mkdtemp(dir=directory.absolute().parent, prefix=f".{directory.name}.", suffix=".tmp"))
    try:
        for name, content in files.items():
            (temp / name).write_bytes(content)
            os.chmod(temp / name, 0o666 & ~_umask())  # like any file the user writes (0644 under umask 022)
        if not directory.exists():
            os.chmod(temp, 0o777 & ~_umask())
            os.replace(temp, directory)
            return directory / MARKDOWN_NAME
        for name in sorted(files, key=lambda n: n == MARKDOWN_NAME):  # report.md last
            os.replace(temp / name, directory / name)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return directory / MARKDOWN_NAME


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
