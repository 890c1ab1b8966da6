"""Numbers read from fio's JSON, each checked: not a number, non-finite, negative or beyond what
the store can hold is refused naming the field (FioOutputError), never stored."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from iocompare.errors import FioOutputError

MAX_NUMBER = 2**63 - 1  # SQLite's INTEGER; no counter, byte count, rate or latency of a real run comes near it


def number(node: Mapping[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    """`node[key]` as a finite, non-negative number within the store's range; else FioOutputError naming the field."""
    field = f"{where}.{key}" if where else key
    if key not in node:
        if default is not None:
            return default
        raise FioOutputError(f"fio output lacks field {field}")
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FioOutputError(f"field {field} is not a number: {value!r:.40}")
    if not math.isfinite(value):
        raise FioOutputError(f"field {field} is not a finite number: {value}")
    if value < 0:
        raise FioOutputError(f"field {field} is negative: {value}")
    if value > MAX_NUMBER:
        raise FioOutputError(f"field {field} is out of range: {value:g} (at most {MAX_NUMBER})")
    return float(value)


def integer(node: Mapping[str, Any], key: str, where: str, *, default: int | None = None) -> int:
    return int(number(node, key, where, default=None if default is None else float(default)))
