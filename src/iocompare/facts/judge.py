"""The judgements made from recorded facts, each in exactly one place: is the target memory, is
O_DIRECT honoured, is a page cache in the path, was the CPU emulated. Each answers True, False or
None (not known from what was recorded): a caller that gets None says "not evaluated"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from iocompare.facts import registry as fk
from iocompare.units import format_ns

# Filesystems whose numbers measure memory, or that drop O_DIRECT: detected by type, never by
# fio's exit code (tmpfs accepts O_DIRECT since Linux 6.6 but still measures RAM).
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
NO_DIRECT_FILESYSTEMS = frozenset({"fuse", "fuseblk", "fuse.fuse-overlayfs"})


def is_memory_filesystem(fs_type: str) -> bool:
    return fs_type in MEMORY_FILESYSTEMS


def drops_direct_io(fs_type: str) -> bool:
    return fs_type in NO_DIRECT_FILESYSTEMS or fs_type.startswith("fuse.")


def filesystem_types(facts: Mapping[str, str]) -> list[str]:
    """Every filesystem type recorded for the target (host side, inside, container storage kind)."""
    types = [t for t in (fk.FS_TYPE.get(facts), fk.FS_TYPE_INSIDE.get(facts)) if t]
    if fk.MOUNT_KIND.get(facts) == "tmpfs":
        types.append("tmpfs")
    return list(dict.fromkeys(types))


def memory_backed(facts: Mapping[str, str]) -> bool | None:
    if fk.MEMORY_BACKED.get(facts) or any(is_memory_filesystem(t) for t in filesystem_types(facts)):
        return True
    if filesystem_types(facts) or fk.MEMORY_BACKED.get(facts) is False:
        return False
    return None


def direct_io_honoured(facts: Mapping[str, str]) -> bool | None:
    recorded = fk.DIRECT_IO_HONOURED.get(facts)
    if recorded is False or any(drops_direct_io(t) for t in filesystem_types(facts)):
        return False
    if recorded is True or filesystem_types(facts):
        return True
    return None


def host_page_cache_in_path(facts: Mapping[str, str]) -> bool | None:
    return fk.HOST_PAGE_CACHE_IN_PATH.get(facts)


def software_emulated(facts: Mapping[str, str]) -> bool | None:
    """TCG: the guest CPU is emulated, so its timings do not represent a KVM host."""
    accelerator = fk.ACCELERATOR.get(facts)
    return None if accelerator is None else accelerator == "tcg"


def storage_facts_for(fs_type: str) -> dict[str, str]:
    """The facts a filesystem type implies by itself, recorded beside it when the target is probed."""
    facts = {}
    if is_memory_filesystem(fs_type):
        facts[fk.MEMORY_BACKED.name] = "yes"
    if drops_direct_io(fs_type):
        facts[fk.DIRECT_IO_HONOURED.name] = "no"
    return facts


# Clocksources that advance once per timer tick (1-10 ms): fio's latencies are then 0 or whole ticks.
TICK_CLOCKSOURCES = frozenset({"jiffies", "refined-jiffies"})


@dataclass(frozen=True)
class LatencyClock:
    """Can latency be measured where fio ran? `measurable` is None when nothing was recorded."""

    measurable: bool | None
    resolution_ns: float | None  # the clock's step, when coarse and seen in the histogram
    why: str  # one line: what was seen

    @property
    def shown(self) -> str:
        """What a report prints instead of a coarse latency figure."""
        about = format_ns(self.resolution_ns) if self.resolution_ns else "one timer tick"
        return f"not measurable (clock resolution ≈ {about})"


def latency_clock(facts_per_trial: Sequence[Mapping[str, str]]) -> LatencyClock:
    """The one decision of whether latency figures mean anything, over the facts of a cell's trials
    (environment facts overlaid with each trial's): coarse when the clocksource ticks (jiffies) or
    any trial's histogram sat on a coarse grid (engines/fio_clock.py); measurable when the clock
    is known and fine; unknown otherwise."""
    sources = [s for s in (fk.CLOCKSOURCE.get(f) for f in facts_per_trial) if s]
    quantised = [q for q in (fk.LATENCY_QUANTISED.get(f) for f in facts_per_trial) if q is not None]
    steps = [s for s in (fk.LATENCY_RESOLUTION_NS.get(f) for f in facts_per_trial) if s]
    step = max(steps) if steps else None
    ticking = sorted({s for s in sources if s in TICK_CLOCKSOURCES})
    if ticking or any(quantised):
        seen = []
        if ticking:
            seen.append(f"clocksource {', '.join(ticking)}")
        if any(quantised):
            grid = f"on a {format_ns(step)} grid" if step else "at 0 ns"
            seen.append(f"{sum(quantised)} of {len(quantised)} trials' latencies {grid}")
        return LatencyClock(False, step, "; ".join(seen))
    if sources or quantised:
        shown = ", ".join(sorted(set(sources))) or "clock"
        return LatencyClock(True, None, f"{shown}: latencies on a fine grid")
    return LatencyClock(None, None, "neither the clocksource nor a latency histogram was recorded")
