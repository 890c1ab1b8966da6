"""Charts drawn with matplotlib (Agg, no pyplot state): the same figure becomes inline SVG for the
HTML report and a PNG file beside a Markdown report. Why matplotlib and not hand-written SVG:
docs/html-report.md.

Safety of labels: environment and workload names are user input. Mathtext is switched off
(`text.parse_math`), so "$x$" is drawn as typed, and SVG text is written as <text> elements
that matplotlib escapes. Every id in an SVG gets a per-chart prefix, so several charts inlined
in one HTML document never share an id (a shared clip-path id would clip the wrong chart).
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display; before anything else of matplotlib is imported

from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from iocompare.report.chart_data import ChartData, Point
from iocompare.report.chart_series import CellLatency, CellSeries
from iocompare.units import format_ns

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

# Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008), yellow last (weak on
# white); each environment also gets its own marker, so no reading depends on colour alone.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SUSPECT_NOTE = "hollow marker = suspect: an artifact check fired (its id beside the point)"
RC: dict[RcKeyType, Any] = {
    "text.parse_math": False,  # a "$" in a label is a dollar sign, never mathtext
    "svg.fonttype": "none",  # text stays text (small, selectable, escaped by matplotlib)
    "svg.hashsalt": "iocompare",  # deterministic clip-path ids
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PANEL_WIDTH_IN = 3.9
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
_ID = re.compile(r'\bid="([^"]+)"')


def colour(environments: tuple[str, ...], env: str) -> str:
    return PALETTE[environments.index(env) % len(PALETTE)] if env in environments else PALETTE[-1]


def marker(environments: tuple[str, ...], env: str) -> str:
    return MARKERS[environments.index(env) % len(MARKERS)] if env in environments else MARKERS[-1]


def _offset(environments: tuple[str, ...], env: str, count: int) -> float:
    """Side-by-side positions around each block size, so whiskers never hide each other."""
    if count <= 1:
        return 0.0
    return (environments.index(env) - (count - 1) / 2) * min(0.25, 0.6 / count)


def _series(
    ax: Axes,
    data: ChartData,
    points: dict[str, tuple[Point, ...]],
    envs: tuple[str, ...],
    *,
    name_flags: bool,
    panel: str,
) -> None:
    """Per environment: a line through the geometric means, whiskers where there is a CI (three
    trials or more), the trials' own values as small dots where there is not, and every suspect
    point hollow with its flag ids beside it (`name_flags`) or a "!"."""
    for env in envs:
        pts = points.get(env, ())
        if not pts:
            continue
        dx = _offset(envs, env, len(envs))
        c, m = colour(data.environments, env), marker(data.environments, env)
        ax.plot([p.x + dx for p in pts], [p.value for p in pts], color=c, linewidth=1.2, label=None)
        for p in pts:
            x = p.x + dx
            if p.low is not None and p.high is not None:
                ax.errorbar(
                    [x], [p.value], yerr=[[p.value - p.low], [p.high - p.value]], fmt="none", ecolor=c, capsize=3
                )
            elif p.values:
                ax.plot([x] * len(p.values), list(p.values), linestyle="none", marker=".", markersize=3, color=c)
            face = "white" if p.suspect else c
            dot = ax.plot([x], [p.value], linestyle="none", marker=m, markersize=5.5, color=c, markerfacecolor=face)[0]
            if p.suspect:
                dot.set_gid(f"suspect-{panel}-{data.environments.index(env)}-{p.x}")
                text = "! " + "\n".join(p.flags) if name_flags else "!"
                ax.annotate(
                    text, (x, p.value), xytext=(5, 3), textcoords="offset points", fontsize=6.5, color="#8a1c00"
                )
        ax.plot([], [], color=c, marker=m, markersize=5, linewidth=1.2, label=env)  # the legend entry


def _title(ax: Axes, text: str) -> None:
    # Plain text rather than Axes.set_title: a title makes every draw re-measure the axes' extent.
    ax.text(0.0, 1.03, text, transform=ax.transAxes, fontsize=9.5, ha="left", va="bottom")


def _x_axis(ax: Axes, data: ChartData) -> None:
    ax.set_xticks(range(len(data.blocks)), data.block_labels)
    ax.set_xlim(-0.6, len(data.blocks) - 0.4)
    ax.set_xlabel(data.size_name)


def _throughput(ax: Axes, data: ChartData) -> None:
    _series(
        ax,
        data,
        data.throughput,
        tuple(e for e in data.environments if e in data.throughput),
        name_flags=True,
        panel="throughput",
    )
    ax.set_ylabel(f"{data.unit} (geometric mean, 95 % CI)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    _title(ax, "throughput" if data.unit != "IOPS" else "IOPS")
    ax.grid(axis="y", alpha=0.3)
    _x_axis(ax, data)


def _ratio(ax: Axes, data: ChartData) -> None:
    envs = tuple(e for e in data.environments if e in data.ratios)
    ax.axhspan(1 / (1 + data.noise), 1 + data.noise, color="#999999", alpha=0.15, linewidth=0)
    ax.axhline(1.0, color="#555555", linewidth=0.8)
    _series(ax, data, data.ratios, envs, name_flags=False, panel="ratio")
    ax.set_ylabel(f"ratio to {data.baseline} (95 % CI)")
    _title(ax, f"vs baseline; band = ±{data.noise:.0%} noise")
    ax.grid(axis="y", alpha=0.3)
    _x_axis(ax, data)


def _latency(ax: Axes, data: ChartData) -> None:
    envs = tuple(e for e in data.environments if e in data.latency)
    styles = (("p50_ns", "o", "-", "p50"), ("p99_ns", "^", "--", "p99"), ("p999_ns", "s", ":", "p99.9"))
    for env in envs:
        dx = _offset(envs, env, len(envs))
        pts = data.latency[env]
        c = colour(data.environments, env)
        for attr, shape, line, _name in styles:
            xy = [(p.x + dx, getattr(p, attr)) for p in pts if getattr(p, attr)]
            if xy:
                ax.plot(
                    [x for x, _ in xy],
                    [y for _, y in xy],
                    marker=shape,
                    linestyle=line if len(xy) > 1 else "none",
                    color=c,
                    markersize=4,
                    linewidth=1,
                )
    if any(data.latency.values()):
        ax.set_yscale("log")
        # Ticks at 1-2-5 steps with our own labels: matplotlib's log labels are mathtext, which is
        # switched off here, and would show up as raw "$10^{5}$".
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_ns(v)))
    ax.set_ylabel(f"{data.direction} latency (median over trials)")
    _title(ax, "latency: ● p50  ▲ p99  ■ p99.9")
    ax.grid(axis="y", alpha=0.3, which="both")
    _x_axis(ax, data)


def figure(data: ChartData) -> Figure:
    """Throughput (with CI), the ratio to the baseline when there is one, and latency, side by side."""
    panels = [_throughput, *([_ratio] if data.ratios else []), _latency]
    width, height = PANEL_WIDTH_IN * len(panels), 3.4
    with rc_context(RC):
        # Fixed margins (in inches) rather than a layout engine: constrained layout measured every
        # text twice and doubled the time of a report with many charts.
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(
            left=0.85 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.75 / height, wspace=0.42
        )
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, draw in zip(axes, panels, strict=False):
            draw(ax, data)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncols=min(len(labels), 4), frameon=False, fontsize=8)
        if any(p.suspect for pts in (*data.throughput.values(), *data.ratios.values()) for p in pts):
            fig.text(0.99, 0.01, SUSPECT_NOTE, ha="right", va="bottom", fontsize=7, color="#8a1c00")
    return fig


def _grid(count: int, panel_w: float, panel_h: float) -> tuple[Figure, list[Axes]]:
    cols = min(count, 3)
    rows = (count + cols - 1) // cols
    width, height = panel_w * cols, panel_h * rows + 0.5
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=0.75 / width, right=1 - 0.15 / width, bottom=0.45 / height, top=1 - 0.8 / height, wspace=0.35, hspace=0.6
    )
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def _env_legend(fig: Figure, environments: tuple[str, ...], shown: set[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=colour(environments, e), marker=marker(environments, e), markersize=4, label=e)
        for e in environments
        if e in shown
    ]
    if handles:
        fig.legend(handles=handles, loc="upper center", ncols=min(len(handles), 4), frameon=False, fontsize=8)


def timeseries_figure(title: str, cells: Sequence[CellSeries], environments: tuple[str, ...]) -> Figure:
    """Throughput over the trial: one panel per cell, one line per trial, coloured per environment."""
    with rc_context(RC):
        fig, axes = _grid(len(cells), 3.6, 2.5)
        shown: set[str] = set()
        for ax, cs in zip(axes, cells, strict=True):
            for series in cs.series:
                env = series.environment
                shown.add(env)
                ax.plot(series.t_s, series.mib_per_s, color=colour(environments, env), linewidth=0.9, alpha=0.7)
            ax.set_ylim(bottom=0)
            ax.set_xlabel("seconds into the trial (ramp included)")
            ax.set_ylabel("device MiB/s")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.grid(alpha=0.3)
            _title(ax, f"{cs.cell.key} QD{cs.cell.iodepth}")
        _env_legend(fig, environments, shown)
        del title  # the figure's caption names it; a title here would collide with the legend
    return fig


def latency_cdf_figure(title: str, cells: Sequence[CellLatency], environments: tuple[str, ...]) -> Figure:
    """Latency distribution: one panel per cell, the CDF of fio's merged histogram per environment."""
    with rc_context(RC):
        fig, axes = _grid(len(cells), 3.6, 2.5)
        shown: set[str] = set()
        for ax, cl in zip(axes, cells, strict=True):
            for item in cl.cdfs:
                shown.add(item.environment)
                c, m = colour(environments, item.environment), marker(environments, item.environment)
                ax.step(item.latency_ns, item.fraction, where="post", color=c, linewidth=1.1)
                # One marker at the median, so a line can be told apart without its colour.
                median = next(x for x, y in zip(item.latency_ns, item.fraction, strict=True) if y >= 0.5)
                ax.plot([median], [0.5], marker=m, color=c, markersize=5, linestyle="none")
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_ns(v)))
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(f"{cl.direction} latency (fio histogram, all trials)")
            ax.set_ylabel("share of IOs at or below")
            ax.grid(alpha=0.3, which="both")
            _title(ax, f"{cl.cell.key} QD{cl.cell.iodepth}")
        _env_legend(fig, environments, shown)
        del title  # the figure's caption names it; a title here would collide with the legend
    return fig


def to_svg(fig: Figure, prefix: str) -> str:
    """The figure as an <svg> element for inlining: no XML prolog or DOCTYPE (whose DTD address a
    browser could fetch), no date, and every id prefixed so charts in one document stay apart."""
    buffer = io.StringIO()
    with rc_context(RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = _METADATA.sub("", text)  # RDF with resource addresses: nothing a reader needs
    ids = set(_ID.findall(text))

    def rename(match: re.Match[str]) -> str:
        return match.group(0).replace(match.group(1), f"{prefix}-{match.group(1)}")

    text = _ID.sub(rename, text)
    if ids:
        refs = re.compile(
            r"(url\(#|href=\"#)(" + "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True)) + r")([)\"])"
        )
        text = refs.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}{m.group(3)}", text)
    return text


def to_png(fig: Figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    with rc_context(RC):
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
