"""How a run was configured, for every format's header: the effective settings (from the stored
suite, after command-line overrides, reference cells and any working-set shrink), what the command
line changed, and the command line itself. A run made with `--repeat 2 --runtime 2` must never
read as plain "suite quick"."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iocompare.spec.design import CostRange, Design, cost_of, design_of, stored_suite
from iocompare.store.records import StoredRun
from iocompare.units import format_duration, format_size

_OVERRIDE_FLAGS = {
    "repeat": "--repeat",
    "max_repeat": "--max-repeat",
    "runtime_s": "--runtime",
    "ramp_s": "--ramp",
    "environments": "--env",
    "target": "--target",
    "filters": "filters",
}


@dataclass(frozen=True)
class RunSettings:
    suite: str
    runtime_s: int | None
    ramp_s: int | None
    repeat: int | None
    max_repeat: int | None
    working_set_bytes: int | None
    working_set_requested_bytes: int | None
    ioengine: str | None
    direct: bool | None
    target: str | None
    fio: str | None
    overrides: tuple[tuple[str, str], ...]  # (flag, value as given)
    command: str | None

    @property
    def trials_text(self) -> str:
        if self.repeat is None:
            return "trials: not recorded"
        if self.max_repeat is None or self.max_repeat == self.repeat:
            return f"{self.repeat} trials per cell (fixed)"
        return f"{self.repeat} to {self.max_repeat} trials per cell (adaptive)"


def _suite_data(run: StoredRun) -> dict[str, Any]:
    try:
        data = json.loads(run.suite_json) if run.suite_json else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def run_settings(run: StoredRun) -> RunSettings:
    suite = _suite_data(run)
    settings = run.settings
    raw_working_set = suite.get("working_set")
    working_set: dict[str, Any] = raw_working_set if isinstance(raw_working_set, dict) else {}
    raw_overrides = settings.get("overrides")
    overrides: list[tuple[str, str]] = []
    if isinstance(raw_overrides, dict):
        for key, value in raw_overrides.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            overrides.append((_OVERRIDE_FLAGS.get(str(key), str(key)), shown))
    direct = suite.get("direct")
    return RunSettings(
        suite=run.info.suite_name,
        runtime_s=_int(suite.get("runtime_s")),
        ramp_s=_int(suite.get("ramp_s")),
        repeat=_int(suite.get("repeat")),
        max_repeat=_int(suite.get("max_repeat")),
        working_set_bytes=_int(working_set.get("size")),
        working_set_requested_bytes=_int(settings.get("working_set_requested_bytes")),
        ioengine=_engines(suite),
        direct=direct if isinstance(direct, bool) else None,
        target=_targets(settings),
        fio=str(settings["fio"]) if "fio" in settings else None,
        overrides=tuple(overrides),
        command=str(settings["argv"]) if "argv" in settings else None,
    )


def settings_line(s: RunSettings) -> str:
    """One line: suite, trial counts, timing, working set, engine (what every number depends on)."""
    parts = [f"suite {s.suite}", s.trials_text]
    if s.ramp_s is not None and s.runtime_s is not None:
        parts.append(f"ramp {s.ramp_s} s + runtime {s.runtime_s} s")
    if s.working_set_bytes is not None:
        ws = f"working set {format_size(s.working_set_bytes)}"
        if s.working_set_requested_bytes and s.working_set_requested_bytes != s.working_set_bytes:
            ws += f" (shrunk from {format_size(s.working_set_requested_bytes)} to fit)"
        parts.append(ws)
    if s.ioengine is not None:
        parts.append(s.ioengine + ("" if s.direct is None else f" direct={int(s.direct)}"))
    if s.fio:
        parts.append(s.fio)
    if s.target:
        parts.append(f"target{'s' if ', ' in s.target else ''} {s.target}")
    return "; ".join(parts)


def _engines(suite: Mapping[str, Any]) -> str | None:
    many = suite.get("ioengines")
    if isinstance(many, list) and many:
        return " and ".join(str(e) for e in many)
    return str(suite["ioengine"]) if isinstance(suite.get("ioengine"), str) else None


def _targets(settings: Mapping[str, Any]) -> str | None:
    """Every target of the run as written (a made one as its spec), else the one directory."""
    many = settings.get("targets")
    made = isinstance(many, list) and len(many) == 1 and str(many[0]).startswith(("loop:", "mkfs:"))
    if isinstance(many, list) and (len(many) > 1 or made):
        return ", ".join(str(t) for t in many)
    return str(settings["target"]) if "target" in settings else None


def overrides_line(s: RunSettings) -> str:
    if not s.overrides:
        return "command-line overrides: none (the suite's own settings)"
    return "command-line overrides: " + ", ".join(f"{flag} {value}" for flag, value in s.overrides)


def command_line(s: RunSettings) -> str:
    if not s.command:
        return "command: not recorded (an imported or older run)"
    try:
        words = shlex.split(s.command)
    except ValueError:
        return f"command: {s.command}"
    if words and (words[0].endswith("iocompare") or words[0].endswith("__main__.py")):
        words[0] = "iocompare"  # not the venv's path or `python -m`'s module file
    return "command: " + shlex.join(words)


def fio_seconds_spent(run: StoredRun) -> float:
    """Ramp plus the runtime fio ran (steady-state trials end early), summed over the run's trials."""
    total = 0.0
    for stored in run.trials:
        result, cell = stored.result, stored.trial.cell
        ran = [d.runtime_ms for d in (result.read, result.write) if d is not None] if result else []
        total += cell.ramp_s + (max(ran) / 1000 if ran else cell.runtime_s)
    return total


@dataclass(frozen=True)
class RunDesign:
    """The design a stored run was made with, what it could have cost, and what it spent."""

    design: Design
    expected: CostRange  # for this run's cells and environments
    trials: int
    fio_s_spent: float


def run_design(run: StoredRun) -> RunDesign | None:
    """None for a run without a suite (an import)."""
    suite = stored_suite(run.suite_json)
    if suite is None:
        return None
    per_round = len(run.cells) * len(run.environments)
    expected = cost_of(suite, per_round=per_round, planned=per_round * suite.repeat)
    return RunDesign(design_of(suite), expected, len(run.trials), fio_seconds_spent(run))


def design_line(d: RunDesign) -> str:
    """The design, its expected cost range and the cost spent, in one line (every format)."""
    e = d.expected
    return (
        f"{d.design.line()}; expected {e.trials_min}-{e.trials_max} trials, fio {format_duration(e.fio_s_min)} "
        f"to {format_duration(e.fio_s_max)}; spent {d.trials} trials, fio {format_duration(d.fio_s_spent)}"
    )


def header_lines(run: StoredRun) -> list[str]:
    s = run_settings(run)
    design = run_design(run)
    lines = [settings_line(s)]
    if design is not None:
        lines.append(design_line(design))
    return [*lines, overrides_line(s), command_line(s)]
