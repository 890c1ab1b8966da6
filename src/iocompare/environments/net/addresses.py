"""Names and addresses a network run creates: every interface, namespace and engine network is
`ioc-<run tag>...` (so a leftover names its run), every address is in 198.18.0.0/16 (this
project's half of the benchmarking range 198.18.0.0/15, RFC 2544), never an engine default."""

from __future__ import annotations

import hashlib
import ipaddress
import socket

from iocompare.errors import ToolError
from iocompare.system.proc import run

RANGE = ipaddress.IPv4Network("198.18.0.0/16")
PREFIX = "ioc-"
IFNAME_MAX = 15  # IFNAMSIZ - 1


def link_name(run_tag: str, suffix: str) -> str:
    """`ioc-<tag>-<suffix>`, cut to the kernel's 15 characters by shortening the tag only."""
    room = IFNAME_MAX - len(PREFIX) - len(suffix) - 1
    return f"{PREFIX}{run_tag[:room]}-{suffix}"


def _used_networks() -> list[ipaddress.IPv4Network]:
    used = []
    for argv in (["ip", "-o", "-4", "addr", "show"], ["ip", "-o", "-4", "route", "show", "table", "all"]):
        done = run(argv, timeout_s=30, check=False)
        for word in done.stdout.split():
            try:
                used.append(ipaddress.IPv4Network(word, strict=False))
            except ValueError:
                continue
    return [n for n in used if n.overlaps(RANGE)]


def free_subnet(run_tag: str, salt: str, taken: tuple[ipaddress.IPv4Network, ...] = ()) -> ipaddress.IPv4Network:
    """A /24 of 198.18.0.0/16 that no interface address or route of this host overlaps; the search
    starts at a point given by the run and the environment so concurrent runs rarely collide."""
    used = [*_used_networks(), *taken]
    subnets = list(RANGE.subnets(new_prefix=24))
    start = int(hashlib.sha256(f"{run_tag}/{salt}".encode()).hexdigest(), 16) % len(subnets)
    for offset in range(len(subnets)):
        candidate = subnets[(start + offset) % len(subnets)]
        if not any(candidate.overlaps(other) for other in used):
            return candidate
    raise ToolError("no free /24 left in 198.18.0.0/16 for the run's network")


def host_and_peer(subnet: ipaddress.IPv4Network) -> tuple[str, str]:
    """.1 is the host's end (or the bridge), .2 the environment's."""
    return str(subnet.network_address + 1), str(subnet.network_address + 2)


def free_port(run_tag: str, address: str = "127.0.0.1") -> int:
    """A TCP port (and the next one, for sockperf) no one holds at `address`, 20000-29999, per run."""
    start = int(hashlib.sha256(run_tag.encode()).hexdigest(), 16) % 10_000
    for offset in range(0, 10_000, 7):
        port = 20_000 + (start + offset) % 9_999
        if all(_bindable(address, candidate) for candidate in (port, port + 1)):
            return port
    raise ToolError(f"no free TCP port at {address}")


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
        except OSError:
            return False
        return True
