"""The network side of a suite: message sizes, streams and directions, and how a network cell
carries them (the store's cell has no network columns, so the direction rides in `ioengine`).

A network cell is a `Cell` whose pattern is a network pattern: its size is the message size, its
`numjobs` the parallel streams, its `ioengine` the load generator and direction (`iperf3/to-env`,
`iperf3/from-env`, `sockperf`). "to-env" means the data flows from the host into the environment.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from iocompare.model import Cell, Pattern
from iocompare.units import parse_size

MESSAGE_SIZES = tuple(1 << shift for shift in range(9, 24))  # 512 B .. 8 MiB
MAX_STREAMS = 128


class Direction(str, enum.Enum):
    TO_ENV = "to-env"  # host sends, the environment receives
    FROM_ENV = "from-env"  # the environment sends, the host receives
    BOTH = "both"  # one cell per direction

    def expand(self) -> tuple[Direction, ...]:
        return (Direction.TO_ENV, Direction.FROM_ENV) if self is Direction.BOTH else (self,)


def _spellings() -> str:
    spellings = []
    for suffix, factor in (("", 1), ("[kK]", 1 << 10), ("[mM]", 1 << 20)):
        numbers = sorted({size // factor for size in MESSAGE_SIZES if size % factor == 0}, reverse=True)
        spellings.append(f"(?:{'|'.join(str(n) for n in numbers)}){suffix}")
    return rf"^0*(?:{'|'.join(spellings)})(i?[bB])?$"


_MESSAGE_JSON = {
    "anyOf": [{"enum": list(MESSAGE_SIZES)}, {"type": "string", "pattern": _spellings()}],
    "description": "A message size: a power of two from 512 B to 8 MiB (512, 4k, 64k, 1m, 8m).",
}


def _to_bytes(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_size(value)
        except ValueError:
            pass
    raise ValueError(f"not a message size: {value!r} (use e.g. 512, 4k, 64k, 1m, 8m)")


def _message_size(value: int) -> int:
    if value not in MESSAGE_SIZES:
        raise ValueError(f"message size {value} B must be a power of two from 512 B to 8 MiB (e.g. 512, 4k, 1m)")
    return value


MessageSize = Annotated[int, BeforeValidator(_to_bytes), AfterValidator(_message_size), WithJsonSchema(_MESSAGE_JSON)]


def load_name(pattern: Pattern, direction: Direction) -> str:
    """The cell's `ioengine` for a network pattern."""
    if pattern is Pattern.TCP_RR:
        return "sockperf"  # ping-pong is symmetric: one cell, whatever the direction
    return f"iperf3/{direction.value}"


def direction_of(cell: Cell) -> Direction:
    _load, _, direction = cell.ioengine.partition("/")
    return Direction(direction) if direction else Direction.TO_ENV


def check_network_workload(
    pattern: Pattern, *, message_sizes: object, streams: int, direction: Direction, storage_fields: Mapping[str, object]
) -> None:
    """Network and storage fields do not mix: one sentence naming the field that is out of place."""
    if pattern.network:
        for name, value in storage_fields.items():
            if value is not None:
                raise ValueError(f"{name} applies to storage patterns, not to {pattern.value} (use message_sizes)")
        if pattern is Pattern.TCP_RR and streams != 1:
            raise ValueError("streams applies to tcp-stream and udp-stream; tcp-rr is one ping-pong connection")
        return
    if message_sizes is not None or streams != 1 or direction is not Direction.TO_ENV:
        raise ValueError(f"message_sizes, streams and direction apply to network patterns, not to {pattern.value}")


def is_network_suite(patterns: list[Pattern]) -> bool:
    return bool(patterns) and all(p.network for p in patterns)


def check_one_kind(patterns: list[Pattern]) -> None:
    kinds = {p.network for p in patterns}
    if len(kinds) > 1:
        raise ValueError("a suite is either storage or network: its workloads mix fio and network patterns")


# The network paths (environments/net, environments/container/network.py), and what the storage
# names mean in a network suite: `--env podman` there is a podman container on the run's network.
NETWORK_ENVIRONMENTS = ("loopback", "netns", "podman-net", "podman-net:host")
ALIASES = {"host": "loopback", "podman": "podman-net", "podman:host": "podman-net:host"}


def network_environment_names(data: object) -> object:
    """A suite document's environments, spelled as network paths when its workloads are network
    ones; a storage-only environment there is bad input, named."""
    if not isinstance(data, dict) or not isinstance(data.get("workloads"), list):
        return data
    # Only well-formed pattern names decide; anything else is left to the fields' own validation.
    patterns = [
        w.get("pattern") for w in data["workloads"] if isinstance(w, dict) and isinstance(w.get("pattern"), str)
    ]
    network = {p.value for p in Pattern if p.network}
    names = data.get("environments", ["host"])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return data  # the field's own validation says what is wrong
    if not patterns or not all(p in network for p in patterns):
        for name in names:
            if name in NETWORK_ENVIRONMENTS and not any(p in network for p in patterns):
                raise ValueError(f"environment {name!r} is a network path: it runs iperf3 and sockperf, not fio")
        return data
    mapped = [ALIASES.get(name, name) for name in names]
    for name in mapped:
        if name not in NETWORK_ENVIRONMENTS:
            raise ValueError(
                f"environment {name!r} is not a network path (network paths: {', '.join(NETWORK_ENVIRONMENTS)})"
            )
    return {**data, "environments": mapped}
