"""The HTML report's content as plain strings and tuples (no markup here): caveats up front, run
facts, IO paths, per-workload tables with CI and CPU cost, and the analysis tables shared with the
terminal and Markdown renderers (report/analysis_text.py). The template escapes all of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from iocompare.analysis.stats import Interval
from iocompare.facts import judge
from iocompare.model import Cell
from iocompare.report import analysis_text as text
from iocompare.report.build import Report, environment_facts
from iocompare.report.cell_stats import MIN_TRIALS_FOR_CI, CellStats
from iocompare.report.fact_labels import label, labelled_facts, value_text
from iocompare.report.io_path import Hop, io_path
from iocompare.report.rows import row
from iocompare.units import format_iops, format_rate

HOST_FACTS = ("hostname", "os", "kernel", "arch", "cpu_model", "cpu_count", "memory_bytes", "iocompare")
ENV_FACTS = (
    "fio_version",
    "accelerator",
    "fs_type",
    "device",
    "target_path",
    "mount_kind",
    "drive_cache",
    "drive_aio",
    "source",
)
WORKLOAD_COLUMNS = (
    "cell", "environment", "n", "throughput, geometric mean (95 % CI)", "IOPS, geometric mean (95 % CI)",
    "lat p50", "lat p99", "lat p99.9", "host CPU µs/IO", "env CPU µs/IO", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class EnvironmentPath:
    name: str
    kind: str
    hops: tuple[Hop, ...]


@dataclass(frozen=True)
class WorkloadSection:
    workload: str
    title: str
    rows: tuple[tuple[str, ...], ...]


def host_rows(report: Report) -> list[tuple[str, str]]:
    """(human label, value with its unit) of the host facts most numbers depend on."""
    facts = report.run.host_facts
    first = [(label(k), value_text(k, facts[k])) for k in HOST_FACTS if k in facts]
    return first or [(lab, value) for lab, value, _ in labelled_facts(facts)]


def environment_columns() -> tuple[str, ...]:
    return ("environment", "kind", *(label(k) for k in ENV_FACTS))


def environment_rows(report: Report) -> list[tuple[str, ...]]:
    """One row per environment: name, kind and the facts most numbers depend on."""
    out = []
    for env in report.environments:
        kind, _ = report.run.environments[env]
        facts = environment_facts(report.run, env)
        out.append((env, kind, *(value_text(k, facts[k]) if k in facts else "-" for k in ENV_FACTS)))
    return out


def caveats(report: Report, *, flags: bool = True, warnings: bool = True) -> list[str]:
    """What a reader must know before reading any number, most serious first. The terminal lists
    fired checks and stability warnings on their own (`flags`, `warnings` False)."""
    out: list[str] = []
    info = report.run.info
    if info.status.value != "complete":
        out.append(
            f"The run's status is '{info.status.value}': "
            f"{info.trials_ok} of {info.trials_total} recorded trials succeeded."
        )
    for env in report.environments:
        facts = environment_facts(report.run, env)
        if judge.software_emulated(facts) or "timing_caveat" in facts:
            out.append(
                f"{env}: {facts.get('timing_caveat', 'software emulation (TCG): timings do not represent a KVM host')}."
            )
        if judge.memory_backed(facts):
            out.append(
                f"{env}: the target is memory-backed ({facts.get('fs_type_inside', facts.get('fs_type', '?'))}): "
                "it measures RAM, not storage."
            )
        if judge.direct_io_honoured(facts) is False:
            out.append(
                f"{env}: O_DIRECT is not honoured by {facts.get('fs_type', 'the filesystem')}: "
                "the page cache may be measured."
            )
        if judge.host_page_cache_in_path(facts):
            out.append(f"{env}: the host page cache is in the IO path (the VMM does not open the image with O_DIRECT).")
        if facts.get("flushes_reach_host", "").startswith("no"):
            out.append(f"{env}: guest flushes do not reach the host ({facts['flushes_reach_host']}).")
        if facts.get("import_unknown"):
            out.append(f"{env}: imported from fio output; not recorded in the files: {facts['import_unknown']}.")
    if flags:
        out += flag_caveats(report)
    warned = sum(1 for found in report.analysis.warnings.values() if found)
    if warned and warnings:
        out.append(f"{warned} cell(s) carry stability warnings (fewer than {report.analysis.policy.min_trials} trials, "
                   f"CV above {report.analysis.policy.cv_limit:.0%}, or a first-trial outlier): "
                   "see the notes column.")  # fmt: skip
    if report.analysis.baseline is None and report.environments and warnings:
        out.append(f"One environment only ({', '.join(report.environments)}): no verdicts, checks and warnings only.")
    return out


def flag_caveats(report: Report) -> list[str]:
    """One line per environment and fired check: in how many cells, with one example (the flag
    table below lists them all)."""
    view = report.analysis
    fired: dict[tuple[str, str], list[tuple[str, str]]] = {}
    totals: dict[str, int] = {}
    for (key, env), results in view.checks.items():
        totals[env] = totals.get(env, 0) + 1
        for r in results:
            if r.fired:
                fired.setdefault((env, r.check.value), []).append((key, r.explanation))
    out = []
    for (env, check), found in sorted(
        fired.items(),
        key=lambda kv: (report.environments.index(kv[0][0]) if kv[0][0] in report.environments else 0, kv[0][1]),
    ):
        key, explanation = found[0]
        where = (
            f"all {len(found)} cells"
            if len(found) == totals[env] and len(found) > 1
            else f"{len(found)} of {totals[env]} cells"
        )
        out.append(f"{view.environment(env)}: flag {check} in {where}, e.g. {key}: {explanation}")
    return out


def io_paths(report: Report) -> list[EnvironmentPath]:
    return [EnvironmentPath(env, report.run.environments[env][0],
                            io_path(report.run.environments[env][0], environment_facts(report.run, env)))
            for env in report.environments]  # fmt: skip


def _interval(value: float, low: float | None, high: float | None, fmt: Callable[[float], str]) -> str:
    if low is None or high is None:
        return f"{fmt(value)} (no CI below {MIN_TRIALS_FOR_CI} trials)"
    return f"{fmt(value)} ({fmt(low)} – {fmt(high)})"


def _bounds(ci: Interval | None) -> tuple[float | None, float | None]:
    return (ci.low, ci.high) if ci else (None, None)


def _micros(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    us = seconds * 1e6
    return f"{us:.3g}" if us < 100 else f"{us:,.0f}"


def _rate_number(value: float) -> str:
    return format_rate(value).removesuffix(" MiB/s")


def workload_row(report: Report, cell: Cell, env: str, stats: CellStats | None) -> tuple[str, ...] | None:
    summary = report.summary(cell, env)
    if summary is None:
        return None
    base = row(summary, text.cell_notes(report.analysis, cell.key, env)).values
    bw = stats.bw_geo if stats else None
    iops = stats.iops_geo if stats else None
    throughput = "-" if bw is None else _interval(bw.value, *_bounds(bw.ci), fmt=_rate_number) + " MiB/s"
    iops_text = "-" if iops is None else _interval(iops.value, *_bounds(iops.ci), fmt=format_iops)
    return (base[0], env, base[2], throughput, iops_text, base[5], base[6], base[7],
            _micros(stats.host_cpu_s_per_io if stats else None), _micros(stats.env_cpu_s_per_io if stats else None),
            base[9])  # fmt: skip


def workload_sections(
    report: Report, stats: Mapping[tuple[str, str], CellStats], titles: Mapping[str, str]
) -> list[WorkloadSection]:
    sections: dict[str, list[tuple[str, ...]]] = {}
    order = {w: i for i, w in enumerate(dict.fromkeys(c.workload for c in report.cells))}
    for cell in sorted(report.cells, key=lambda c: (order[c.workload], c.block_size_bytes)):
        for env in report.environments:
            values = workload_row(report, cell, env, stats.get((cell.key, env)))
            if values is not None:
                sections.setdefault(cell.workload, []).append(values)
    return [WorkloadSection(w, titles.get(w, w), tuple(rows)) for w, rows in sections.items()]


METHOD_NOTES = (
    (
        "Throughput is total bytes/s (read + write) shown in MiB/s (1 MiB = 1,048,576 bytes); "
        "IOPS are read + write IOs per second."
    ),
    (
        "Every table and chart shows one figure per cell: the geometric mean over successful trials (its ratio between "
        "two environments is exactly the verdicts' ratio), with a 95 % percentile-bootstrap CI from three trials on; "
        "below three, the trials' own values are shown instead of an interval."
    ),
    (
        "Ratio curves: candidate over baseline throughput, ratio of geometric means with a 95 % bootstrap CI (the "
        "verdicts' numbers); the grey band is the noise threshold, within which no verdict says faster or slower."
    ),
    (
        "Latency: fio's total latency (submission + completion) percentiles from its merged histogram, "
        "median over trials; mixed workloads show reads (r) and writes (w); charts show the workload's main direction."
    ),
    (
        "CPU per IO: mean CPU use over the trial's monitor samples × fio runtime ÷ total IOs, median over trials, "
        "in CPU-µs. host = the whole host (all CPUs); env = the environment's monitored processes (fio, the container, "
        "or the VMM). Samples include ramp and start-up, so the figure compares environments of one run rather than "
        "measuring absolute cost."
    ),
)
