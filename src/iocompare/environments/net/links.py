"""`ip`, `tc` and `ethtool` around the run's own interfaces: create them (registered first), and
read what shapes a number (MTU, qdisc, driver, offloads, congestion control) as text facts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping

from iocompare.errors import ToolError
from iocompare.system.proc import run
from iocompare.system.resources import RunResources

_OFFLOADS = ("tcp-segmentation-offload", "generic-segmentation-offload", "generic-receive-offload", "tx-checksumming")


def ip(*args: str, netns: str | None = None) -> str:
    argv = ["ip", *(("-n", netns) if netns else ()), *args]
    return run(argv, timeout_s=30).stdout


def create_veth_namespace(
    resources: RunResources, *, netns: str, host_link: str, peer_link: str, host_cidr: str, peer_cidr: str
) -> None:
    # Registered before creation: a SIGKILL between the two leaves a manifest entry, not an orphan.
    resources.add("link", host_link, note="veth, host end")
    resources.add("netns", netns, note="network namespace")
    ip("netns", "add", netns)
    ip("link", "add", host_link, "type", "veth", "peer", "name", peer_link, "netns", netns)
    ip("addr", "add", host_cidr, "dev", host_link)
    ip("addr", "add", peer_cidr, "dev", peer_link, netns=netns)
    ip("link", "set", host_link, "up")
    ip("link", "set", peer_link, "up", netns=netns)
    ip("link", "set", "lo", "up", netns=netns)


def link_facts(link: str, prefix: str, netns: str | None = None) -> dict[str, str]:
    """MTU, qdisc and kind of one interface, its driver and offloads where ethtool answers."""
    facts: dict[str, str] = {}
    try:
        data = json.loads(ip("-d", "-j", "link", "show", "dev", link, netns=netns))[0]
    except (ToolError, ValueError, IndexError, KeyError):
        return {f"{prefix}_link": f"{link} (not readable)"}
    facts[f"{prefix}_link"] = link
    facts[f"{prefix}_mtu"] = str(data.get("mtu", "?"))
    facts[f"{prefix}_qdisc"] = str(data.get("qdisc", "?"))
    kind = (data.get("linkinfo") or {}).get("info_kind")
    facts[f"{prefix}_link_kind"] = str(kind or data.get("link_type", "?"))
    facts.update(_ethtool(link, prefix, netns))
    return facts


def _ethtool(link: str, prefix: str, netns: str | None) -> Mapping[str, str]:
    if shutil.which("ethtool") is None:
        return {f"{prefix}_offloads": "not evaluated: ethtool is not installed"}
    wrap = ["ip", "netns", "exec", netns] if netns else []
    out: dict[str, str] = {}
    driver = run([*wrap, "ethtool", "-i", link], timeout_s=30, check=False)
    for line in driver.stdout.splitlines():
        if line.startswith("driver:"):
            out[f"{prefix}_driver"] = line.split(":", 1)[1].strip()
    features = run([*wrap, "ethtool", "-k", link], timeout_s=30, check=False)
    found = {}
    for line in features.stdout.splitlines():
        name, _, value = line.strip().partition(":")
        if name in _OFFLOADS:
            found[name] = value.split()[0] if value.split() else "?"
    out[f"{prefix}_offloads"] = (
        ", ".join(f"{k}={v}" for k, v in found.items()) if found else "not evaluated: ethtool -k did not answer"
    )
    return out


def tcp_facts(netns: str | None = None) -> dict[str, str]:
    """The congestion control and socket buffer limits a TCP stream gets (in a namespace: its own)."""
    wrap = ["ip", "netns", "exec", netns] if netns else []
    facts = {}
    for key, sysctl in (
        ("tcp_congestion_control", "net.ipv4.tcp_congestion_control"),
        ("tcp_wmem", "net.ipv4.tcp_wmem"),
        ("tcp_rmem", "net.ipv4.tcp_rmem"),
    ):
        done = run([*wrap, "sysctl", "-n", sysctl], timeout_s=30, check=False)
        facts[key] = " ".join(done.stdout.split()) if done.exit_code == 0 else f"not evaluated: sysctl {sysctl} failed"
    return facts
