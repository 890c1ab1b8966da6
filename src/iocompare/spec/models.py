"""Pydantic models of a suite file. The JSON Schema printed by `iocompare schema` comes from here."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from iocompare.model import Pattern, SteadyState
from iocompare.units import format_size, parse_size

MIN_BLOCK_BYTES = 512
MAX_BLOCK_BYTES = 64 << 20
# Depth 32 for small blocks, 16 from 1 MiB on (METHODOLOGY.md): enough to saturate an NVMe
# queue without letting large-block cells balloon host memory for in-flight buffers.
AUTO_DEPTH_SMALL = 32
AUTO_DEPTH_LARGE = 16
AUTO_DEPTH_THRESHOLD_BYTES = 1 << 20

# The suite file is validated in pydantic's strict mode: `true` is not a number, "1" is not an
# integer, "yes" is not a boolean. Sizes are the one place strings are accepted, and only in the
# forms the schema's patterns describe, so `iocompare schema` and the validator agree.
_UNIT = "(i?[bB])?"
_SIZE_PATTERN = rf"^0*[1-9][0-9]*[kKmMgGtT]?{_UNIT}$"
_BLOCK_SIZES = tuple(1 << shift for shift in range(9, 27))  # 512 B .. 64 MiB


def _block_pattern() -> str:
    """Every spelling of a power of two from 512 B to 64 MiB: 4096, 4k, 4KiB, 1m, 64MB."""
    spellings = []
    for suffix, factor in (("", 1), ("[kK]", 1 << 10), ("[mM]", 1 << 20)):
        numbers = sorted({size // factor for size in _BLOCK_SIZES if size % factor == 0}, reverse=True)
        spellings.append(f"(?:{'|'.join(str(n) for n in numbers)}){suffix}")
    return rf"^0*(?:{'|'.join(spellings)}){_UNIT}$"


_BLOCK_PATTERN = _block_pattern()
# Sizes above this cannot be stored (SQLite INTEGER) and no filesystem holds them.
MAX_SIZE_BYTES = (1 << 62) - 1

_SIZE_JSON = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": _SIZE_PATTERN}]}
_BLOCK_JSON = {"anyOf": [{"enum": list(_BLOCK_SIZES)}, {"type": "string", "pattern": _BLOCK_PATTERN}]}


def _bytes_matching(pattern: str) -> Callable[[object], int]:
    compiled = re.compile(pattern)

    def to_bytes(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and compiled.match(value):
            return parse_size(value)
        raise ValueError(f"not a size: {value!r} (use e.g. 512, 4k, 64k, 1m, 8m, 1g)")

    return to_bytes


def _block_size(value: int) -> int:
    if value not in _BLOCK_SIZES:
        raise ValueError(f"block size {value} B must be a power of two from 512 B to 64 MiB (e.g. 512, 4k, 1m)")
    return value


def _positive_size(value: int) -> int:
    if value <= 0:
        raise ValueError("size must be greater than 0")
    if value > MAX_SIZE_BYTES:
        raise ValueError(f"size must be at most {MAX_SIZE_BYTES} bytes")
    return value


BlockSize = Annotated[
    int, BeforeValidator(_bytes_matching(_SIZE_PATTERN)), AfterValidator(_block_size), WithJsonSchema(_BLOCK_JSON)
]
Size = Annotated[
    int, BeforeValidator(_bytes_matching(_SIZE_PATTERN)), AfterValidator(_positive_size), WithJsonSchema(_SIZE_JSON)
]
MAX_IODEPTH = 1024


def _iodepth(value: object) -> int | Literal["auto"]:
    # One validator rather than a union, so the error is one sentence and not one per member.
    if value == "auto" and isinstance(value, str):
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_IODEPTH:
        return value
    raise ValueError(f"iodepth must be an integer from 1 to {MAX_IODEPTH} or 'auto'")


IoDepth = Annotated[
    int | Literal["auto"],
    PlainValidator(_iodepth),
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_IODEPTH}, {"const": "auto"}]}),
]
# Idle before each trial's fio (execute/settle.py). From data: after 3 s idle this machine's disk
# read at its rested rate (1 MiB random read, median 2.72 GiB/s, against 1.76 back to back).
DEFAULT_SETTLE_S = 3.0
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# A target (spec/targets.py): a path or a prepared spec; no NUL, and no '@' (it separates env@target).
TargetText = Annotated[str, Field(min_length=1, pattern="^[^\u0000@]+$")]


class IoEngine(str, enum.Enum):
    # libaio is the default: io_uring is blocked by the default seccomp profile of recent
    # Docker/containerd, so it would not be "the same job everywhere" (METHODOLOGY.md).
    LIBAIO = "libaio"
    IO_URING = "io_uring"
    PSYNC = "psync"
    PVSYNC2 = "pvsync2"
    POSIXAIO = "posixaio"


class CachePolicy(str, enum.Enum):
    REFUSE = "refuse"  # a cell whose working set fits in an un-bypassed cache is not run
    LABEL = "label"  # it runs, and every result of it carries the finding


class Workload(BaseModel):
    """A named access pattern; expanded once per block size into cells."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False, strict=True)

    name: Name
    # Enums are the exception to strict mode: TOML has no enum type, their names are strings.
    pattern: Pattern = Field(strict=False)
    block_sizes: list[BlockSize] | None = Field(
        default=None, min_length=1, description="Overrides the suite's block_sizes for this workload."
    )
    iodepth: IoDepth = Field(
        default="auto", description="1 to 1024, or 'auto' = 32 below 1 MiB blocks, 16 from 1 MiB on."
    )
    numjobs: int = Field(default=1, ge=1, le=64)
    read_percent: int | None = Field(
        default=None, ge=0, le=100, description="Read share of mixed patterns (default 70)."
    )

    @model_validator(mode="after")
    def _check(self) -> Workload:
        if self.read_percent is not None and not self.pattern.mixed:
            raise ValueError(f"read_percent applies only to mixed patterns, not to {self.pattern.value}")
        return self

    def depth_for(self, block_size_bytes: int) -> int:
        if isinstance(self.iodepth, int):
            return self.iodepth
        if block_size_bytes >= AUTO_DEPTH_THRESHOLD_BYTES:
            return AUTO_DEPTH_LARGE
        return AUTO_DEPTH_SMALL

    def effective_read_percent(self) -> int | None:
        if not self.pattern.mixed:
            return None
        return 70 if self.read_percent is None else self.read_percent


class WorkingSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    size: Size = Field(default=1 << 30, description="Size of the file every cell reads and writes.")
    min_size: Size = Field(
        default=256 << 20,
        description="When free space is short the working set is halved down to this floor "
        "(and never below the cache rule); below it environments are refused.",
    )
    cache_multiple: float = Field(
        default=2.0,
        ge=1.0,
        le=1000.0,
        allow_inf_nan=False,
        description="The working set must be at least this multiple of the RAM of every cache "
        "layer that is not bypassed (guest RAM, host page cache under a buffered VMM).",
    )
    policy: CachePolicy = Field(
        default=CachePolicy.REFUSE,
        strict=False,
        description="What to do with a cell whose working set is too small: refuse or label it.",
    )
    shared: bool = Field(
        default=True,
        description="One file per storage path, read by every environment that reaches it (host, bind mounts, "
        "raw-disk microVMs); false gives each environment its own file. host:twin always has its own.",
    )


class SteadyStateRule(BaseModel):
    """End each trial once its bandwidth is steady (fio's `bw_slope` rule); `runtime_s` is then
    the maximum. Chosen from measurements on this project's machines (docs/methodology.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: int = Field(default=3, ge=2, le=600, description="Seconds of per-second bandwidth fitted (fio ss_dur).")
    slope_percent: float = Field(
        default=2.0, gt=0, le=100, description="Steady when the fitted slope is below this % of the mean per second."
    )

    def rule(self) -> SteadyState:
        return SteadyState(self.window_s, self.slope_percent)


class Spending(str, enum.Enum):
    """Lan-DeMets alpha-spending functions of the group-sequential rule (analysis/sequential.py)."""

    OBRIEN_FLEMING = "obrien-fleming"  # strict at early looks, close to the fixed-n test at the last
    POCOCK = "pocock"  # about the same boundary at every look


class SequentialRule(BaseModel):
    """Decide a comparison by a group-sequential test: looks after the pilot (`repeat` trials) and
    every `look_every` trials up to `max_repeat`, each against an alpha-spending boundary, so the
    repeated looks keep the error rate at `alpha` (docs/statistics.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spending: Spending = Field(default=Spending.POCOCK, strict=False)
    look_every: int = Field(default=3, ge=1, le=100, description="Trials a side between two looks.")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided error rate spent over all the looks.")

    def looks(self, first: int, last: int) -> tuple[int, ...]:
        """Trials a side at each look: the pilot, then every `look_every` trials, and always the cap."""
        return tuple(sorted({*range(first, last, self.look_every), last} - set(range(first))))


class Suite(BaseModel):
    """A suite file (TOML). Every field but `name` and `workloads` has a default."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: Name
    description: str = ""
    block_sizes: list[BlockSize] = Field(default_factory=lambda: [4096], min_length=1)
    workloads: list[Workload] = Field(min_length=1)
    runtime_s: int = Field(default=30, gt=0, le=86_400)
    ramp_s: int = Field(default=5, ge=0, le=3_600)
    repeat: int = Field(default=5, ge=1, le=100, description="Trials per environment per cell (at least).")
    max_repeat: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Adaptive cap: cells whose comparison is not yet decided get more rounds, up to this many trials.",
    )
    stop_futile: bool = Field(
        default=True,
        description="After the first `repeat` trials, stop a cell whose noise would need more than max_repeat "
        "trials to decide (it stays inconclusive) instead of running it to the cap.",
    )
    sequential: SequentialRule | None = Field(
        default=None,
        description="Stop rounds by a group-sequential test with alpha spending (absent: the fixed-n CI at every "
        "look, which repeated looks make optimistic).",
    )
    references: bool = Field(
        default=True,
        description="In comparisons with non-host environments, also run the host and the reference cells "
        "(QD1 4 KiB random read, fdatasync probe) that the artifact checks compare against.",
    )
    steady_state: SteadyStateRule | None = Field(
        default=None, description="End trials early once steady; runtime_s is then the maximum (absent: fixed length)."
    )
    ioengine: IoEngine = Field(default=IoEngine.LIBAIO, strict=False)
    ioengines: list[Annotated[IoEngine, Field(strict=False)]] | None = Field(
        default=None,
        min_length=1,
        description="Several fio ioengines as a dimension: every workload runs with each; with two or more the "
        "engine is part of the cell (workload name+engine, e.g. rand-read+io_uring@4k). Not together with ioengine.",
    )
    direct: bool = Field(default=True, description="O_DIRECT; never silently turned off.")
    working_set: WorkingSet = Field(default_factory=WorkingSet)
    settle_s: float = Field(
        default=DEFAULT_SETTLE_S,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="Idle seconds between the end of one trial's IO and the start of the next trial's fio, "
        "whatever the environment needs to start (start-up happens inside it); 0 starts fio at once.",
    )
    target: str | None = Field(
        default=None,
        min_length=1,
        pattern="^[^\u0000]+$",  # a path: not empty (that would be the current directory), no NUL byte
        description="Directory on the filesystem under test (default /var/tmp).",
    )
    targets: list[TargetText] | None = Field(
        default=None,
        min_length=1,
        description="Several targets: every environment runs on every target (labels env@target). A target is a "
        "directory, or a filesystem the run makes and removes: mkfs:FS:DEVICE[:OPTIONS] or loop:FS:SIZE[:OPTIONS] "
        "(docs/targets-and-hosts.md). Not together with target.",
    )
    environments: list[str] = Field(default_factory=lambda: ["host"], min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _engine_of_engines(cls, data: object) -> object:
        # `ioengine` reads as the first of `ioengines`, so a stored suite validates again as it was.
        engines = data.get("ioengines") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(engines, list) and engines and "ioengine" not in data:
            return {**data, "ioengine": engines[0]}
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> Suite:
        seen: set[str] = set()
        for workload in self.workloads:
            if workload.name in seen:
                raise ValueError(f"workload name {workload.name!r} appears twice")
            seen.add(workload.name)
        if self.ioengines is not None and self.ioengine is not self.ioengines[0]:
            raise ValueError("give ioengine or ioengines, not both (ioengine is ioengines' first entry)")
        if self.ioengines is not None and len(set(self.ioengines)) != len(self.ioengines):
            raise ValueError(f"ioengines list has duplicates: {[e.value for e in self.ioengines]}")
        if self.targets is not None and self.target is not None:
            raise ValueError("give target or targets, not both")
        if self.targets is not None and len(set(self.targets)) != len(self.targets):
            raise ValueError(f"targets list has duplicates: {self.targets}")
        if len(set(self.environments)) != len(self.environments):
            raise ValueError(f"environments list has duplicates: {self.environments}")
        if self.max_repeat < self.repeat:
            raise ValueError(f"max_repeat {self.max_repeat} is below repeat {self.repeat}")
        if self.steady_state is not None and self.steady_state.window_s >= self.runtime_s:
            raise ValueError(
                f"steady_state.window_s {self.steady_state.window_s} must be shorter than runtime_s {self.runtime_s}"
            )
        return self

    def engines(self) -> list[IoEngine]:
        return list(self.ioengines) if self.ioengines is not None else [self.ioengine]

    def target_texts(self, default: str) -> list[str]:
        """The run's targets as written, in order."""
        return list(self.targets) if self.targets is not None else [self.target or default]

    def block_sizes_of(self, workload: Workload) -> list[int]:
        return list(workload.block_sizes or self.block_sizes)

    def describe_cells(self) -> list[str]:
        lines = []
        for workload in self.workloads:
            for size in self.block_sizes_of(workload):
                extra = f" read {workload.effective_read_percent()}%" if workload.pattern.mixed else ""
                lines.append(
                    f"{workload.name} {format_size(size)} QD{workload.depth_for(size)}x{workload.numjobs}{extra}"
                )
        return lines
