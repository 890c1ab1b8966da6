"""Text rows and lines of the analysis, shared by the terminal and Markdown renderers so both
show the same verdicts, flags, warnings and cross-block numbers (JSON reads the view itself)."""

from __future__ import annotations

from collections.abc import Mapping

from iocompare.analysis.artifacts import CheckId
from iocompare.analysis.compare import Comparison, Metric, signed_pct
from iocompare.analysis.stats import RatioEstimate
from iocompare.model import Cell
from iocompare.report.analysis_view import AnalysisView, metric_name
from iocompare.units import format_ns, format_rate, format_size

VERDICT_COLUMNS = ("cell", "environment", "baseline", "candidate", "ratio (95 % CI)", "p / adj. p", "verdict")
FLAG_COLUMNS = ("environment", "check", "cells", "explanation", "evidence")
CROSS_COLUMNS = ("workload", "block", "environment", "baseline", "candidate", "ratio (95 % CI)", "verdict")
MAX_LISTED = 6


def verdict_note(view: AnalysisView) -> str:
    return (
        f"baseline and candidate: geometric means over trials of {metric_name(view.metric)} "
        "(the figure every table shows); ratio = candidate over baseline; "
        "p = permutation test, adj. p = Benjamini-Hochberg over all comparisons"
    )  # cell keys listed before "+ N more"


def cell_label(cell: Cell) -> str:
    if cell.pattern.network:  # a message size has no queue depth; streams when more than one
        return cell.key + (f" x{cell.numjobs} streams" if cell.numjobs > 1 else "")
    return f"{cell.key} QD{cell.iodepth}" + (f"x{cell.numjobs}" if cell.numjobs > 1 else "")


def metric_value(metric: Metric, value: float | None) -> str:
    if value is None:
        return "-"
    return format_rate(value) if metric is Metric.THROUGHPUT else format_ns(value)


def ratio_text(estimate: RatioEstimate | None) -> str:
    if estimate is None:
        return "-"
    if estimate.ci is None:
        return f"{estimate.ratio:.3f} (no CI)"
    return f"{estimate.ratio:.3f} ({estimate.ci.low:.3f}-{estimate.ci.high:.3f})"


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:MAX_LISTED])
    return shown + (f" + {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else "")


def warning_notes(view: AnalysisView, key: str, environment: str) -> list[str]:
    """Stability warnings without the environment prefix (the row already names it)."""
    return [w.message.removeprefix(f"{w.environment}: ") for w in view.warnings_for(key, environment)]


def cell_notes(view: AnalysisView, key: str, environment: str) -> list[str]:
    """What goes next to a cell's numbers: its stability warnings and the checks that fired."""
    notes = warning_notes(view, key, environment)
    notes += [f"flag: {r.check.value}" for r in view.flags(key, environment)]
    return notes


def counts_line(view: AnalysisView, scope: str) -> str:
    """'8 comparisons of podman against host (throughput, ...): 2 faster, 6 no significant difference'."""
    p = view.policy
    counts = ", ".join(f"{n} {kind}" for kind, n in view.counts().items()) or "nothing compared"
    return (
        f"{len(view.comparisons)} comparisons {scope} ({metric_name(view.metric)}; noise threshold {p.noise:.0%}, "
        f"FDR q = {p.fdr_q:g}, at least {p.min_trials} trials a side): {counts}"
    )


def not_evaluated_line(view: AnalysisView) -> str | None:
    """Checks that could not be evaluated somewhere (no reference or input): never a silent pass."""
    found: dict[str, set[str]] = {}
    for (_, env), results in view.checks.items():
        for r in results:
            if r.status.value == "not evaluated":
                found.setdefault(r.check.value, set()).add(view.environment(env))
    if not found:
        return None
    listed = "; ".join(f"{check} ({', '.join(sorted(envs))})" for check, envs in found.items())
    return f"not evaluated for lack of a reference or an input (the JSON report says why, per cell): {listed}"


def _verdict_text(c: Comparison) -> str:
    text = c.describe()
    if c.warnings:
        text += " [" + "; ".join(w.message for w in c.warnings) + "]"
    return text


def verdict_rows(view: AnalysisView) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for c in view.comparisons:
        cell = view.cells.get(c.key)
        p = "-" if c.p_value is None else f"{c.p_value:.3g} / {c.p_adjusted:.3g}"
        rows.append(
            (
                cell_label(cell) if cell else c.key,
                view.environment(c.candidate),
                metric_value(view.metric, c.a.geomean if c.a else None),
                metric_value(view.metric, c.b.geomean if c.b else None),
                ratio_text(c.estimate),
                p,
                _verdict_text(c),
            )
        )
    return rows


def format_evidence(evidence: Mapping[str, float | int | str]) -> str:
    parts = []
    for name, value in evidence.items():
        if isinstance(value, str):
            text = value
        elif name.endswith("_bps"):
            text = format_rate(value)
        elif name.endswith("_ns"):
            text = format_ns(value)
        elif name.endswith("_bytes"):
            text = format_size(value)
        elif isinstance(value, float):
            text = f"{value:.3g}"
        else:
            text = f"{value:,}"
        parts.append(f"{name}={text}")
    return ", ".join(parts)


def flag_rows(view: AnalysisView) -> list[tuple[str, ...]]:
    """One row per environment, check and identical explanation, listing the cells it fired in."""
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    per_env: dict[str, int] = {}
    order = list(CheckId)
    for (key, env), results in sorted(view.checks.items(), key=lambda kv: kv[0][1]):
        per_env[env] = per_env.get(env, 0) + 1
        for r in results:
            if r.fired:
                groups.setdefault((env, r.check.value, r.explanation, format_evidence(r.evidence)), []).append(key)
    rows: list[tuple[str, ...]] = []
    envs = list(per_env)
    ranked = sorted(groups.items(), key=lambda g: (envs.index(g[0][0]), order.index(CheckId(g[0][1]))))
    for (env, check, explanation, evidence), keys in ranked:
        cells = f"all {len(keys)} cells" if len(keys) == per_env[env] and len(keys) > 1 else _listed(keys)
        rows.append((env, check, cells, explanation, evidence or "-"))
    return rows


def _verdicts_by_block(view: AnalysisView) -> dict[tuple[str, int, str], Comparison]:
    """(workload, block size, candidate label) -> the cell's comparison, to mark suspect points."""
    out = {}
    for c in view.comparisons:
        cell = view.cells.get(c.key)
        if cell is not None:
            out[(cell.workload, cell.block_size_bytes, c.candidate)] = c
    return out


def cross_rows(view: AnalysisView) -> list[tuple[str, ...]]:
    """Ratio against block size for workloads run at two or more block sizes, with each cell's
    verdict kind so a suspect point is never read as a plain number."""
    rows: list[tuple[str, ...]] = []
    verdicts = _verdicts_by_block(view)
    for pc in view.cross_block:
        base = next((e for e in pc.curves if e not in pc.ratios), None)
        base_points = {p.block_size_bytes: p for p in pc.curves.get(base, ())} if base else {}
        for cand, points in pc.ratios.items():
            if len(points) < 2:
                continue
            cand_points = {p.block_size_bytes: p for p in pc.curves.get(cand, ())}
            for rp in points:
                a, b = base_points.get(rp.block_size_bytes), cand_points.get(rp.block_size_bytes)
                c = verdicts.get((pc.workload, rp.block_size_bytes, cand))
                rows.append(
                    (
                        pc.workload,
                        format_size(rp.block_size_bytes),
                        view.environment(cand),
                        format_rate(a.bw_bps) if a else "-",
                        format_rate(b.bw_bps) if b else "-",
                        ratio_text(rp.estimate),
                        "-" if c is None else c.verdict.value,
                    )
                )
    return rows


def crossing_lines(view: AnalysisView) -> list[str]:
    lines = []
    verdicts = _verdicts_by_block(view)
    for pc in view.cross_block:
        for cand, points in pc.ratios.items():
            if len(points) < 2:
                continue
            found = pc.crossings.get(cand, ())
            who = f"{pc.workload}, {view.environment(cand)}"
            suspect = [
                p
                for p in points
                if (c := verdicts.get((pc.workload, p.block_size_bytes, cand))) and c.verdict.value == "suspect"
            ]
            if suspect:
                who += f" (suspect at {', '.join(format_size(p.block_size_bytes) for p in suspect)})"
            if found:
                lines += [f"{who}: {c.describe()}" for c in found]
            else:
                ratios = [p.estimate.ratio for p in points]
                side = "at or above" if min(ratios) >= 1 else "below"
                lines.append(f"{who}: no crossing, the ratio stays {side} 1 ({min(ratios):.3f} to {max(ratios):.3f})")
    return lines


def suite_lines(view: AnalysisView) -> list[str]:
    lines = []
    for s in view.suites:
        who = f"{s.candidate} against {s.baseline}"
        if s.ratio is None or s.ci is None:
            lines.append(f"{who}: no cell to summarise (left out: {_listed(list(s.excluded))})")
            continue
        line = (
            f"{who}: geometric mean of {s.n_cells} cell ratios {s.ratio:.3f} ({signed_pct(s.ratio)} %), "
            f"95 % CI {s.ci.low:.3f} to {s.ci.high:.3f} ({signed_pct(s.ci.low)} to {signed_pct(s.ci.high)} %)"
        )
        if s.excluded:
            line += f"; left out (suspect or fewer than 2 trials a side): {_listed(list(s.excluded))}"
        lines.append(line)
    return lines
