"""Two stored runs against each other: run A is the baseline, run B the candidate (e.g. the same
suite before and after a kernel upgrade). Pure functions over stored runs.

Cells are matched by cell key and environment name. Each side keeps the artifact checks of its
own run (against its own host reference), so a comparison is suspect when a check fired in
either run. The facts that differ between the runs are listed first, because a difference in
kernel, fio version, target path, device, filesystem or any job option may be the whole
explanation of a verdict.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from iocompare.analysis.compare import CellInput, Metric, metric_values
from iocompare.analysis.crossblock import ok_results
from iocompare.engines.fio_options import VOLATILE_OPTIONS, options_from_facts
from iocompare.model import Cell, FioResult
from iocompare.store.records import StoredRun

# Settings and facts that differ in every run without meaning anything for the numbers.
VOLATILE_SETTINGS = frozenset({"argv", "pid", "pid_start", "run_seed"})
VOLATILE_FACTS = frozenset({"path_on_host", "fio_job", "job_options", "import_file", "import_jobs", "import_sha256"})
# A run works in a scratch directory of its own under the target (iocompare-<run tag>/<environment>):
# paths are compared without it, so only a different target or device shows.
_RUN_SCRATCH = re.compile(r"/iocompare-[0-9a-f]{8}(?:/.*)?$")
_PATHS = frozenset({"target_path", "filename", "directory"})


def stable_path(path: str) -> str:
    return _RUN_SCRATCH.sub("", path) or "/"


def _stable(facts: Mapping[str, object]) -> dict[str, object]:
    return {k: stable_path(v) if k in _PATHS and isinstance(v, str) else v for k, v in facts.items()}


@dataclass(frozen=True)
class FactDifference:
    scope: str  # "host", "run settings", "environment podman", "cell rand-read@4k", "environments", "cells"
    name: str
    a: str | None  # None: absent in that run
    b: str | None


@dataclass(frozen=True)
class RunPair:
    """What is compared: the environments and cell keys both runs have, and how sides are named."""

    a: StoredRun
    b: StoredRun
    environments: tuple[str, ...]  # in run A's planned order
    keys: tuple[str, ...]  # cell keys in run A's order
    label_a: Callable[[str], str]
    label_b: Callable[[str], str]


def side_labels(a: StoredRun, b: StoredRun) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """'host (run 3)' and 'host (run 4)'; '(A)' and '(B)' when a run is compared with itself."""
    if a.info.id == b.info.id:
        return (lambda env: f"{env} (A)"), (lambda env: f"{env} (B)")
    return (lambda env: f"{env} (run {a.info.id})"), (lambda env: f"{env} (run {b.info.id})")


def pair_runs(a: StoredRun, b: StoredRun) -> RunPair:
    envs = tuple(e for e in a.environments if e in b.environments)
    b_keys = {c.key for c in b.cells}
    keys = tuple(c.key for c in a.cells if c.key in b_keys)
    label_a, label_b = side_labels(a, b)
    return RunPair(a, b, envs, keys, label_a, label_b)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _diff(
    scope: str, a: Mapping[str, object], b: Mapping[str, object], skip: frozenset[str] = frozenset()
) -> list[FactDifference]:
    out = []
    for name in sorted(set(a) | set(b)):
        if name in skip:
            continue
        va, vb = _text(a.get(name)), _text(b.get(name))
        if va != vb:
            out.append(FactDifference(scope, name, va, vb))
    return out


def _only(scope: str, a: Sequence[str], b: Sequence[str]) -> list[FactDifference]:
    only_a = [x for x in a if x not in b]
    only_b = [x for x in b if x not in a]
    if not only_a and not only_b:
        return []
    return [FactDifference(scope, "only in one run", ", ".join(only_a) or None, ", ".join(only_b) or None)]


def fact_differences(a: StoredRun, b: StoredRun) -> list[FactDifference]:
    """Host facts, run settings (fio, target, working set), the facts of every environment both
    runs have, cell definitions of common cell keys, and environments or cells only one run has."""
    out = _diff("host", a.host_facts, b.host_facts)
    out += _diff("run settings", a.settings, b.settings, VOLATILE_SETTINGS)
    out += _only("environments", list(a.environments), list(b.environments))
    for env in a.environments:
        if env not in b.environments:
            continue
        (kind_a, facts_a), (kind_b, facts_b) = a.environments[env], b.environments[env]
        out += _diff(
            f"environment {env}",
            _stable({"kind": kind_a, **facts_a}),
            _stable({"kind": kind_b, **facts_b}),
            VOLATILE_FACTS,
        )
    cells_b = {c.key: c for c in b.cells}
    options_a, options_b = _job_options(a), _job_options(b)
    for cell in a.cells:
        other = cells_b.get(cell.key)
        if other is not None and other != cell:
            out += _diff(f"cell {cell.key}", dataclasses.asdict(cell), dataclasses.asdict(other))
        if other is not None and cell.key in options_a and cell.key in options_b:
            out += _diff(f"cell {cell.key} job option", options_a[cell.key], options_b[cell.key], VOLATILE_OPTIONS)
    out += _only("cells", [c.key for c in a.cells], [c.key for c in b.cells])
    return out


def _job_options(run: StoredRun) -> dict[str, dict[str, object]]:
    """Cell key -> the job options of its first trial that recorded them (paths without the run's scratch)."""
    out: dict[str, dict[str, object]] = {}
    for st in sorted(run.trials, key=lambda t: t.trial.index):
        if st.trial.cell.key not in out:
            options = options_from_facts(st.facts)
            if options is not None:
                out[st.trial.cell.key] = _stable(options)
    return out


def pair_inputs(
    pair: RunPair,
    *,
    metric: Metric = Metric.THROUGHPUT,
    suspects_a: Mapping[tuple[str, str], Sequence[str]] | None = None,
    suspects_b: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[CellInput]:
    """One comparison per common environment and cell key that either run has trials of."""
    values_a, values_b = metric_values(pair.a.trials, metric), metric_values(pair.b.trials, metric)
    present = {(t.trial.cell.key, t.trial.environment) for run in (pair.a, pair.b) for t in run.trials}
    fa, fb = suspects_a or {}, suspects_b or {}
    return [
        CellInput(
            key,
            pair.label_a(env),
            pair.label_b(env),
            values_a.get((key, env), ()),
            values_b.get((key, env), ()),
            tuple(fa.get((key, env), ())),
            tuple(fb.get((key, env), ())),
        )
        for env in pair.environments
        for key in pair.keys
        if (key, env) in present
    ]


def pair_results(pair: RunPair, env: str) -> dict[tuple[Cell, str], list[FioResult]]:
    """For crossblock.cross_block_from_results: one environment's results in both runs, labelled."""
    out: dict[tuple[Cell, str], list[FioResult]] = {}
    keys = set(pair.keys)
    for run, label in ((pair.a, pair.label_a(env)), (pair.b, pair.label_b(env))):
        for (cell, e), results in ok_results(run).items():
            if e == env and cell.key in keys:
                out[(cell, label)] = results
    return out


def pair_suite_cells(
    pair: RunPair, env: str, metric: Metric = Metric.THROUGHPUT
) -> dict[str, tuple[tuple[float, ...], tuple[float, ...]]]:
    """For crossblock.suite_summary: cell key -> (run A values, run B values) of one environment."""
    values_a, values_b = metric_values(pair.a.trials, metric), metric_values(pair.b.trials, metric)
    return {key: (values_a.get((key, env), ()), values_b.get((key, env), ())) for key in pair.keys}
