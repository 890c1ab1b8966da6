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

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from iocompare.report.chart_data import ChartData, Point
from iocompare.units import format_ns

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
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


def _offset(environments: tuple[str, ...], env: str, count: int) -> float:
    """Side-by-side positions around each block size, so whiskers never hide each other."""
    if count <= 1:
        return 0.0
    return (environments.index(env) - (count - 1) / 2) * min(0.25, 0.6 / count)


def _series(ax: Axes, data: ChartData, points: dict[str, tuple[Point, ...]], envs: tuple[str, ...]) -> None:
    for env in envs:
        pts = points.get(env, ())
        if not pts:
            continue
        dx = _offset(envs, env, len(envs))
        xs = [p.x + dx for p in pts]
        ys = [p.value for p in pts]
        lows = [p.value - p.low if p.low is not None else 0.0 for p in pts]
        highs = [p.high - p.value if p.high is not None else 0.0 for p in pts]
        c = colour(data.environments, env)
        ax.errorbar(
            xs,
            ys,
            yerr=[lows, highs],
            fmt="o-" if len(pts) > 1 else "o",
            color=c,
            capsize=3,
            markersize=4,
            linewidth=1.2,
            label=env,
        )


def _title(ax: Axes, text: str) -> None:
    # Plain text rather than Axes.set_title: a title makes every draw re-measure the axes' extent.
    ax.text(0.0, 1.03, text, transform=ax.transAxes, fontsize=9.5, ha="left", va="bottom")


def _x_axis(ax: Axes, data: ChartData) -> None:
    ax.set_xticks(range(len(data.blocks)), data.block_labels)
    ax.set_xlim(-0.6, len(data.blocks) - 0.4)
    ax.set_xlabel("block size")


def _throughput(ax: Axes, data: ChartData) -> None:
    _series(ax, data, data.throughput, tuple(e for e in data.environments if e in data.throughput))
    ax.set_ylabel(f"{data.unit} (mean, 95 % CI)")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    _title(ax, "throughput" if data.unit != "IOPS" else "IOPS")
    ax.grid(axis="y", alpha=0.3)
    _x_axis(ax, data)


def _ratio(ax: Axes, data: ChartData) -> None:
    envs = tuple(e for e in data.environments if e in data.ratios)
    ax.axhspan(1 / (1 + data.noise), 1 + data.noise, color="#999999", alpha=0.15, linewidth=0)
    ax.axhline(1.0, color="#555555", linewidth=0.8)
    _series(ax, data, data.ratios, envs)
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
        for attr, marker, line, _name in styles:
            xy = [(p.x + dx, getattr(p, attr)) for p in pts if getattr(p, attr)]
            if xy:
                ax.plot(
                    [x for x, _ in xy],
                    [y for _, y in xy],
                    marker=marker,
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
