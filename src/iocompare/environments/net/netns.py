"""Host to a network namespace over a veth pair: the wire baseline, the kernel's path with no
container engine or VMM in it. The namespace and both veth ends are the run's own."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence

from iocompare.environments.net.addresses import free_subnet, host_and_peer, link_name
from iocompare.environments.net.base import NetEnvironment, NetInstance
from iocompare.environments.net.links import create_veth_namespace, link_facts, tcp_facts


class NetnsInstance(NetInstance):
    environment: NetnsEnvironment

    def server_command(self, server_argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.environment.netns, *server_argv]


class NetnsEnvironment(NetEnvironment):
    kind = "netns"
    description = "network: host to a network namespace over a veth pair (the wire baseline)"

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        if shutil.which("ip") is None:
            return "iproute2 (ip) is not installed (hint: apt-get install iproute2)"
        return None

    @property
    def netns(self) -> str:
        return link_name(self.context.run_tag, "ns")

    @property
    def host_link(self) -> str:
        return link_name(self.context.run_tag, "h")

    @property
    def peer_link(self) -> str:
        return link_name(self.context.run_tag, "n")

    @property
    def server_address(self) -> str:
        return self._peer

    def setup(self) -> None:
        super().setup()
        subnet = free_subnet(self.context.run_tag, "netns")
        self._host, self._peer = host_and_peer(subnet)
        create_veth_namespace(
            self.context.resources,
            netns=self.netns,
            host_link=self.host_link,
            peer_link=self.peer_link,
            host_cidr=f"{self._host}/{subnet.prefixlen}",
            peer_cidr=f"{self._peer}/{subnet.prefixlen}",
        )

    def teardown(self) -> None:
        # Only this environment's entries: another network environment of the run keeps its own.
        for resource in reversed(self.context.resources.items()):
            if resource.ident in (self.netns, self.host_link):
                self.context.resources.release(resource)

    def instance(self) -> NetnsInstance:
        return NetnsInstance(self)

    def facts(self) -> Mapping[str, str]:
        return {
            **self.base_facts(),
            "nic_model": "veth",
            "network_address": self._peer,
            **link_facts(self.host_link, "host"),
            **link_facts(self.peer_link, "env", netns=self.netns),
            **tcp_facts(self.netns),
        }
