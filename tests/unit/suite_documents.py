"""Hypothesis strategies for suite documents: valid ones, and valid ones with one thing wrong.

Shared by the schema/validator agreement test and the CLI fuzzer. A document is the dict a TOML
file parses into; `toml_text` writes one back so the CLI can read it from a file.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import strategies as st

from iocompare.model import Pattern

PATTERNS = [p.value for p in Pattern if not p.network]
MIXED = [p.value for p in Pattern if p.mixed]
ENGINES = ["libaio", "io_uring", "psync", "pvsync2", "posixaio"]
NAMES = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,12}\Z")
GOOD_BLOCKS = st.sampled_from([512, 4096, "4k", "64k", "1m", "8M", "64KiB", "2mb", 65536])
GOOD_SIZES = st.sampled_from(["32m", "64m", "256m", "1g", 33554432, "48MiB"])

# Values of every TOML type, for replacing a field with something of the wrong kind or range.
ANY_VALUE = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, 1, -1, 3, 100, 101, 1024, 1025, 86_401, 2**62, 2**63 - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "auto", "yes", "1", "4k", "3k", " 4k", "0", "0k", "1e3", "-4k", "4KIB", "rand-read"]),
    st.lists(st.integers(min_value=-5, max_value=5000), max_size=3),
    st.lists(st.text(max_size=4), max_size=2),
    st.builds(list),  # built, not st.just([]): a mutation must never change a value shared by examples
    st.builds(dict),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@st.composite
def workloads(draw: st.DrawFn) -> dict[str, Any]:
    pattern = draw(st.sampled_from(PATTERNS))
    doc: dict[str, Any] = {"name": draw(NAMES), "pattern": pattern}
    if draw(st.booleans()):
        doc["block_sizes"] = draw(st.lists(GOOD_BLOCKS, min_size=1, max_size=2))
    if draw(st.booleans()):
        doc["iodepth"] = draw(st.one_of(st.just("auto"), st.integers(min_value=1, max_value=1024)))
    if draw(st.booleans()):
        doc["numjobs"] = draw(st.integers(min_value=1, max_value=64))
    if pattern in MIXED and draw(st.booleans()):
        doc["read_percent"] = draw(st.integers(min_value=0, max_value=100))
    return doc


@st.composite
def valid_suites(draw: st.DrawFn) -> dict[str, Any]:
    """A document the validator must accept (small: 1 s trials, a few cells)."""
    works = draw(st.lists(workloads(), min_size=1, max_size=3, unique_by=lambda w: w["name"]))
    repeat = draw(st.integers(min_value=1, max_value=3))
    doc: dict[str, Any] = {
        "name": draw(NAMES),
        "workloads": works,
        "runtime_s": draw(st.integers(min_value=1, max_value=5)),
        "ramp_s": draw(st.integers(min_value=0, max_value=2)),
        "repeat": repeat,
        "max_repeat": draw(st.integers(min_value=repeat, max_value=4)),
        "working_set": {"size": draw(GOOD_SIZES), "min_size": "32m"},
    }
    optional = {
        "description": st.text(max_size=20),
        "block_sizes": st.lists(GOOD_BLOCKS, min_size=1, max_size=2),
        "references": st.booleans(),
        "ioengine": st.sampled_from(ENGINES),
        "direct": st.booleans(),
        "environments": st.just(["host"]),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            doc[key] = draw(strategy)
    if draw(st.booleans()):
        doc["working_set"]["cache_multiple"] = draw(st.floats(min_value=1.0, max_value=8.0))
    if draw(st.booleans()):
        doc["working_set"]["policy"] = draw(st.sampled_from(["refuse", "label"]))
    return doc


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in the document (dict keys and list positions)."""
    out = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


@st.composite
def mutated_suites(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one or two things changed: a wrong type or range, an unknown key,
    a removed key. Most of them are invalid; a few happen to stay valid."""
    doc = json.loads(json.dumps(draw(valid_suites())))
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        paths = _paths(doc)
        kind = draw(st.sampled_from(["replace", "replace", "unknown-key", "remove"]))
        if kind == "unknown-key" or not paths:
            containers = [()] + [p for p in paths if isinstance(_parent(doc, (*p, None)), dict)]
            where = draw(st.sampled_from(containers))
            target = _parent(doc, (*where, None))
            if isinstance(target, dict):
                target[draw(st.text(min_size=1, max_size=8))] = draw(ANY_VALUE)
            continue
        path = draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        if kind == "remove":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(ANY_VALUE)
    return doc


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string (\uXXXX escapes included)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(doc: dict[str, Any]) -> str:
    """The document as TOML (inline tables and arrays: exact, if not pretty)."""
    return "".join(f"{json.dumps(key)} = {toml_value(value)}\n" for key, value in doc.items())
