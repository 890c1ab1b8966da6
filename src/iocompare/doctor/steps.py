"""One step of a doctor check: passed, failed (with what to do) or skipped (its input is missing;
never counted as passed)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Step:
    name: str
    outcome: Outcome
    detail: str
    fix: str | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.OK

    @classmethod
    def ok(cls, name: str, detail: str) -> Step:
        return cls(name, Outcome.OK, detail)

    @classmethod
    def fail(cls, name: str, detail: str, fix: str) -> Step:
        return cls(name, Outcome.FAILED, detail, fix)

    @classmethod
    def skipped(cls, name: str, why: str) -> Step:
        return cls(name, Outcome.SKIPPED, f"not tried: {why}")


@dataclass(frozen=True)
class EnvironmentReport:
    environment: str
    steps: tuple[Step, ...]

    @property
    def works(self) -> bool:
        """Every step passed, the 1 s fio included (a skipped step is not a pass)."""
        return bool(self.steps) and all(s.passed for s in self.steps)
