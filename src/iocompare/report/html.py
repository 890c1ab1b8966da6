"""The report as one self-contained HTML file: inline CSS, inline SVG charts, no script, no font,
no image or style from anywhere else, so it opens offline and makes no network request.

Every string from the run (environment, suite, run and workload names, paths, fact values) goes
through Jinja2 with autoescaping; the only markup inserted unescaped is the SVG matplotlib wrote
(report/plots.py: its text is escaped there, and mathtext is off).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from iocompare.model import Sample
from iocompare.report import analysis_text as text
from iocompare.report import html_view as hv
from iocompare.report.build import Report, environment_facts
from iocompare.report.cell_stats import cell_stats
from iocompare.report.chart_data import ChartData, chart_data
from iocompare.report.chart_series import latency_distributions, throughput_series
from iocompare.report.fact_labels import labelled_facts
from iocompare.report.plots import (
    MARKERS,
    SUSPECT_NOTE,
    colour,
    figure,
    latency_cdf_figure,
    marker,
    timeseries_figure,
    to_svg,
)
from iocompare.report.settings import header_lines

# The text symbol of each chart marker, shown beside the environment's name in the tables.
MARKER_SYMBOLS = ("●", "■", "▲", "◆", "▼", "✚", "✖", "★")


@dataclass(frozen=True)
class Chart:
    workload: str
    svg: Markup
    caption: str


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("iocompare.report", "templates"),
        autoescape=True,  # every {{ value }} is escaped unless it is Markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _caption(data: ChartData) -> str:
    what = "IOPS" if data.unit == "IOPS" else "throughput in MiB/s"
    parts = [
        f"{what} against block size per environment (geometric mean; whiskers: its 95 % bootstrap CI from three "
        "trials on, below that the trials' own values as dots); a hollow marker is a suspect result, with the fired "
        "checks beside it"
    ]
    if data.ratios:
        parts.append(f"ratio to {data.baseline} (geometric means, 95 % bootstrap CI)")
    parts.append(f"{data.direction} latency p50/p99/p99.9 (median over trials)")
    return "; ".join(parts) + "."


def charts(data: Sequence[ChartData]) -> list[Chart]:
    out = []
    for index, item in enumerate(data):
        fig = figure(item)
        out.append(Chart(item.workload, Markup(to_svg(fig, f"chart{index}")), _caption(item)))
        fig.clear()
    return out


TIMESERIES_CAPTION = (
    "Throughput over each trial from the monitor's device counters (0.5 s samples, ramp included, the whole "
    "device): one line per trial, coloured per environment."
)
LATENCY_CAPTION = (
    "Latency distribution: fio's latency histogram bins merged over jobs and trials, as the share of IOs at or "
    "below each latency (log scale); the marker sits at the median."
)


def series_charts(
    report: Report, samples: Mapping[int, Sequence[Sample]] | None, raw_outputs: Mapping[int, str] | None
) -> tuple[dict[str, Chart], dict[str, Chart]]:
    """(workload -> throughput-over-trial chart, workload -> latency-distribution chart)."""
    series = throughput_series(report.run, samples or {})
    latency = latency_distributions(report.run, raw_outputs or {}, report.environments)
    timeseries: dict[str, Chart] = {}
    distributions: dict[str, Chart] = {}
    for workload in dict.fromkeys(c.workload for c in report.cells):
        cells = [s for s in series if s.cell.workload == workload]
        if cells:
            fig = timeseries_figure("throughput over the trial", cells, report.environments)
            timeseries[workload] = Chart(workload, Markup(to_svg(fig, f"ts{len(timeseries)}")), TIMESERIES_CAPTION)
            fig.clear()
        dists = [d for d in latency if d.cell.workload == workload]
        if dists:
            fig = latency_cdf_figure("latency distribution", dists, report.environments)
            distributions[workload] = Chart(workload, Markup(to_svg(fig, f"lat{len(distributions)}")), LATENCY_CAPTION)
            fig.clear()
    return timeseries, distributions


def render_html(
    report: Report,
    samples: Mapping[int, Sequence[Sample]] | None = None,
    raw_outputs: Mapping[int, str] | None = None,
) -> str:
    """`raw_outputs`: trial id -> fio json+ text, for the latency distributions (none: no such chart)."""
    info = report.run.info
    view = report.analysis
    scope = f"against {view.baseline}" if view.baseline else ""
    stats = cell_stats(report.run, samples, view.policy)
    data = chart_data(report, stats)
    created = dt.datetime.fromtimestamp(info.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    timeseries, distributions = series_charts(report, samples, raw_outputs)
    context = {
        "settings": header_lines(report.run),
        "timeseries": timeseries,
        "distributions": distributions,
        "suspect_note": SUSPECT_NOTE,
        "info": info,
        "created": created,
        "caveats": hv.caveats(report),
        "host_rows": hv.host_rows(report),
        "markers": {
            env: MARKER_SYMBOLS[MARKERS.index(marker(report.environments, env))] for env in report.environments
        },
        "env_columns": hv.environment_columns(),
        "env_rows": hv.environment_rows(report),
        "counts_line": text.counts_line(view, scope) if view.comparisons else None,
        "headlines": list(view.headlines),
        "paths": hv.io_paths(report),
        "colours": {env: colour(report.environments, env) for env in report.environments},
        "charts": {c.workload: c for c in charts(data)},
        "workloads": hv.workload_sections(report, stats, {d.workload: d.title for d in data}),
        "workload_columns": hv.WORKLOAD_COLUMNS,
        "scope": scope,
        "verdict_columns": text.VERDICT_COLUMNS,
        "verdict_rows": text.verdict_rows(view),
        "verdict_note": text.verdict_note(view),
        "flag_columns": text.FLAG_COLUMNS,
        "flag_rows": text.flag_rows(view),
        "not_evaluated": text.not_evaluated_line(view),
        "cross_columns": text.CROSS_COLUMNS,
        "cross_rows": text.cross_rows(view),
        "crossings": text.crossing_lines(view),
        "suites": text.suite_lines(view),
        "all_facts": [
            (env, report.run.environments[env][0], labelled_facts(environment_facts(report.run, env)))
            for env in report.environments
        ],
        "method_notes": hv.METHOD_NOTES,
    }
    return _environment().get_template("report.html.j2").render(**context)
