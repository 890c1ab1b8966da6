"""Human labels and units for the facts tables of the HTML and Markdown reports: the facts
registry's (facts/registry.py) for every fact it declares; for one it does not (a new backend's,
an import's), a label made from the key, and a value in the unit its key names (`_bytes`, `_ns`,
`_bps`). The raw key stays beside the label, since the JSON report and the exports use it."""

from __future__ import annotations

from collections.abc import Mapping

from iocompare.facts import registry
from iocompare.units import format_ns, format_rate, format_size


def label(key: str) -> str:
    if key in registry.BY_NAME:
        return registry.label_of(key)
    for suffix in ("_bytes", "_ns", "_bps"):
        key = key.removesuffix(suffix)
    return key.replace("_", " ")


def value_text(key: str, value: str) -> str:
    if key in registry.BY_NAME:
        return registry.display(key, value)
    if not value.replace(".", "", 1).isdigit():
        return value
    number = float(value)
    if key.endswith("_bytes"):
        return format_size(int(number))
    if key.endswith("_ns"):
        return format_ns(number)
    if key.endswith("_bps"):
        return format_rate(number)
    return value


def labelled_facts(facts: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(label, value with its unit, raw key), sorted by label."""
    return sorted(((label(k), value_text(k, v), k) for k, v in facts.items()), key=lambda item: item[0].lower())
