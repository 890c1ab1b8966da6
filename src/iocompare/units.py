"""Sizes and rates. Stored values are bytes, bytes/s and nanoseconds; display names the unit.

Binary prefixes only: `4k` means 4 KiB (4096 bytes) as in fio, and displayed rates are MiB/s,
labelled as such (several well-known tools label MiB/s as MB/s; we do not).
"""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Parse `512`, `4k`, `64KiB`, `1m`, `8M`, `2g` into bytes. Raises ValueError."""
    if isinstance(text, bool):
        raise ValueError(f"not a size: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise ValueError(f"size must not be negative: {text}")
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 512, 4k, 64k, 1m, 8m, 1g)")
    number, suffix = match.groups()
    return int(number) * _SUFFIX[suffix.lower()]


def is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def format_size(size_bytes: int | float) -> str:
    """Exact binary size for block sizes (`4 KiB`, `1 MiB`, `512 B`), one decimal otherwise."""
    size = float(size_bytes)
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size:.0f} B"


def short_size(size_bytes: int) -> str:
    """Compact fio-style label for block sizes in cell keys: 512, 4k, 64k, 1m."""
    for suffix, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size_bytes >= factor and size_bytes % factor == 0:
            return f"{size_bytes // factor}{suffix}"
    return str(size_bytes)


def format_rate(bytes_per_s: float | None) -> str:
    if bytes_per_s is None:
        return "-"
    return f"{bytes_per_s / (1 << 20):,.1f} MiB/s"


def format_iops(iops: float | None) -> str:
    if iops is None:
        return "-"
    if iops >= 10_000:
        return f"{iops / 1000:,.1f}k"
    return f"{iops:,.0f}"


def format_ns(ns: float | None) -> str:
    if ns is None:
        return "-"
    for unit, factor in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= factor:
            return f"{_three_digits(ns / factor)} {unit}"
    return f"{ns:.0f} ns"


def _three_digits(value: float) -> str:
    """Three significant digits: 45.3, 905, 2.83 (latencies are not known better than that)."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
