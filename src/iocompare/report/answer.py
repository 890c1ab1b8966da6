"""The answer a report leads with, as plain data and lines (no rich here): one summary per
environment against the baseline, and the compact matrix of cells by environments, laid out for a
given width so that no number is ever cut (names wrap, numbers never do)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from iocompare.analysis.compare import Comparison, Verdict, signed_pct
from iocompare.report.analysis_text import cell_label
from iocompare.report.build import Report

MiB = 1 << 20
MARKS = {
    Verdict.FASTER: "▲",
    Verdict.SLOWER: "▼",
    Verdict.NO_DIFFERENCE: "=",
    Verdict.INCONCLUSIVE: "?",
    Verdict.SUSPECT: "!",
    Verdict.NOT_COMPARED: "·",
}
SHORT = {
    Verdict.FASTER: "faster",
    Verdict.SLOWER: "slower",
    Verdict.NO_DIFFERENCE: "no difference",
    Verdict.INCONCLUSIVE: "inconclusive",
    Verdict.SUSPECT: "suspect",
    Verdict.NOT_COMPARED: "not compared",
}
LEGEND = (
    "MiB/s: geometric mean over trials; ratio to the baseline: ▲ faster, ▼ slower, = no difference, "
    "? inconclusive, ! suspect (a check fired), · not compared"
)
GAP = "  "


@dataclass(frozen=True)
class EnvironmentSummary:
    environment: str
    ratio: float | None  # suite-level: geometric mean of the cell ratios (suspect cells left out)
    ci: tuple[float, float] | None
    n_cells: int  # cells in that ratio
    counts: dict[Verdict, int]  # verdict kind -> cells

    def line(self) -> str:
        counts = ", ".join(f"{self.counts.get(v, 0)} {SHORT[v]}" for v in Verdict if v is not Verdict.NOT_COMPARED)
        if self.counts.get(Verdict.NOT_COMPARED):
            counts += f", {self.counts[Verdict.NOT_COMPARED]} not compared"
        if self.ratio is None:
            return f"{self.environment}: no suite ratio (no cell without a flag and with 2+ trials a side); {counts}"
        ci = "no CI" if self.ci is None else f"CI {signed_pct(self.ci[0])} to {signed_pct(self.ci[1])} %"
        return (
            f"{self.environment}: {self.ratio:.3f}x ({signed_pct(self.ratio)} %, {ci}) over {self.n_cells} "
            f"cell(s); {counts}"
        )


def environment_summaries(report: Report) -> list[EnvironmentSummary]:
    view = report.analysis
    if view.baseline is None:
        return []
    suites = {s.candidate: s for s in view.suites}
    out = []
    for env in report.environments:
        if env == view.baseline:
            continue
        counts: dict[Verdict, int] = {}
        for c in view.comparisons:
            if c.candidate == env:
                counts[c.verdict] = counts.get(c.verdict, 0) + 1
        s = suites.get(env)
        ratio = s.ratio if s is not None else None
        ci = (s.ci.low, s.ci.high) if s is not None and s.ci is not None else None
        out.append(EnvironmentSummary(env, ratio, ci, s.n_cells if s is not None else 0, counts))
    return out


_NUMBER_UNIT = re.compile(r"(?<=\d) (?=[A-Za-zµ%])")
_KEEP = "\u00a0"  # textwrap does not break at a no-break space


def wrap(text: str, width: int, indent: str = "") -> list[str]:
    """Wrapped at spaces only, never inside a word or between a number and its unit ("1 GiB")."""
    lines = textwrap.wrap(
        _NUMBER_UNIT.sub(_KEEP, text),
        width=max(width, 20),
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line.replace(_KEEP, " ") for line in lines] or [""]


def number(bytes_per_s: float | None) -> str:
    """MiB/s with three or four significant digits, thousands separated: 4,779 / 478 / 47.8 / 4.78."""
    if bytes_per_s is None:
        return "-"
    v = bytes_per_s / MiB
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio_mark(c: Comparison | None) -> str:
    if c is None:
        return "-"
    mark = MARKS[c.verdict]
    if c.estimate is None:
        return mark
    r = c.estimate.ratio
    return (f"{r:.2f}" if r >= 0.01 else "<0.01") + mark


@dataclass(frozen=True)
class Column:
    header: str
    values: tuple[str, ...]

    @property
    def width(self) -> int:
        return max([len(v) for v in self.values] + [min(len(self.header), 24), 4])  # longer names wrap


def _columns(report: Report) -> tuple[list[str], Column | None, list[Column]]:
    view = report.analysis
    by_key = {(c.key, c.candidate): c for c in view.comparisons}
    labels = [cell_label(cell) for cell in report.cells]
    base = view.baseline
    first = None
    if base is not None or len(report.environments) == 1:
        env = base or report.environments[0]
        first = Column(env, tuple(_value(report, cell.key, env) for cell in report.cells))
    others = []
    for env in report.environments:
        if first is not None and env == first.header:
            continue
        values = []
        for cell in report.cells:
            value = _value(report, cell.key, env)
            values.append(f"{value} {ratio_mark(by_key.get((cell.key, env)))}" if base is not None else value)
        others.append(Column(env, tuple(values)))
    return labels, first, others


def _value(report: Report, key: str, env: str) -> str:
    summary = report.summaries.get((key, env))
    if summary is None:
        return "-"
    if summary.n_ok == 0:
        return ", ".join(summary.statuses) or "-"
    return number(summary.geomean_bw_bps)


def _header_lines(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def matrix_lines(report: Report, width: int) -> list[str]:
    """Cells down, environments across; split into several blocks when the environments do not
    fit side by side at `width` (each block repeats the cell and baseline columns)."""
    labels, first, others = _columns(report)
    if not labels:
        return []
    fixed = [first] if first is not None else []
    fixed_width = sum(len(GAP) + c.width for c in fixed)
    others_width = sum(len(GAP) + c.width for c in others)
    label_width = max(len(x) for x in [*labels, "cell"])
    if label_width + fixed_width + others_width > width:  # wrap long cell names before splitting the matrix
        label_width = max(16, min(label_width, width - fixed_width - others_width))
    blocks: list[list[Column]] = []
    current: list[Column] = []
    used = label_width + fixed_width
    for column in others:
        need = len(GAP) + column.width
        if current and used + need > width:
            blocks.append(current)
            current, used = [], label_width + fixed_width
        current.append(column)
        used += need
    if current or not blocks:
        blocks.append(current)
    lines: list[str] = []
    for block in blocks:
        if lines:
            lines.append("")
        lines += _block(labels, label_width, fixed + block)
    return lines


def _block(labels: Sequence[str], label_width: int, columns: Sequence[Column]) -> list[str]:
    headers = [_header_lines(c.header, c.width) for c in columns]
    depth = max([len(h) for h in headers] + [1])
    out = []
    for i in range(depth):
        row = ("cell" if i == depth - 1 else "").ljust(label_width)
        for column, header in zip(columns, headers, strict=True):
            part = header[i - (depth - len(header))] if i >= depth - len(header) else ""
            row += GAP + part.rjust(column.width)
        out.append(row.rstrip())
    for index, label in enumerate(labels):
        pieces = _header_lines(label, label_width)
        for j, piece in enumerate(pieces):
            row = piece.ljust(label_width)
            if j == len(pieces) - 1:
                for column in columns:
                    row += GAP + column.values[index].rjust(column.width)
            out.append(row.rstrip())
    return out


def plain_rows(report: Report) -> list[tuple[str, ...]]:
    """Tab-separated rows for scripts: one per cell and environment, raw numbers, no units."""
    view = report.analysis
    by_key = {(c.key, c.candidate): c for c in view.comparisons}
    header = (
        "cell", "workload", "block_size_bytes", "iodepth", "environment", "n_ok", "n_total",
        "geomean_mib_per_s", "geomean_iops", "ratio", "ratio_ci_low", "ratio_ci_high", "verdict", "detail", "flags",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = [header]

    def num(value: float | None, digits: int = 6) -> str:
        return "" if value is None else f"{value:.{digits}g}"

    for cell in report.cells:
        for env in report.environments:
            s = report.summaries.get((cell.key, env))
            if s is None:
                continue
            c = by_key.get((cell.key, env))
            est = c.estimate if c is not None else None
            flags = ",".join(r.check.value for r in view.flags(cell.key, env))
            rows.append(
                (
                    cell.key, cell.workload, str(cell.block_size_bytes), str(cell.iodepth), env, str(s.n_ok),
                    str(s.n_total), num(s.geomean_bw_bps / MiB if s.geomean_bw_bps else None), num(s.geomean_iops),
                    num(est.ratio if est else None), num(est.ci.low if est and est.ci else None),
                    num(est.ci.high if est and est.ci else None),
                    "baseline" if env == view.baseline else (c.verdict.value if c else ""),
                    c.describe() if c else "", flags,
                )
            )  # fmt: skip
    return [tuple(v.replace("\t", " ").replace("\n", " ") for v in row) for row in rows]
