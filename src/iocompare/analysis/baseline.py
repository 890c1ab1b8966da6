"""The one rule that picks the baseline of a comparison, used by the stopping rule while a run is
running and by every report afterwards, so both always compare against the same environment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def kind_of(environment: str) -> str:
    """The kind of an environment name: `host:twin` is a host, `podman:volume` a podman, and
    `podman@/mnt/xfs` (an environment on one of several targets) a podman."""
    return environment.partition("@")[0].partition(":")[0]


def default_baseline(environments: Iterable[str], kinds: Mapping[str, str] | None = None) -> str | None:
    """'host' when present, else the first environment of kind host, else the first; None for none.
    `kinds` gives stored kinds (an imported run's labels); otherwise the kind is read off the name."""
    names = list(environments)
    if "host" in names:
        return "host"
    for name in names:
        if (kinds or {}).get(name, kind_of(name)) == "host":
            return name
    return names[0] if names else None
