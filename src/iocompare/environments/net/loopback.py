"""Host to host over the loopback interface: the ceiling every other path is read against."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from iocompare.environments.net.base import NetEnvironment, NetInstance
from iocompare.environments.net.links import link_facts, tcp_facts


class LoopbackInstance(NetInstance):
    def server_command(self, server_argv: Sequence[str]) -> list[str]:
        return list(server_argv)


class LoopbackEnvironment(NetEnvironment):
    kind = "loopback"
    description = "network: host to host over loopback (the ceiling)"

    @property
    def server_address(self) -> str:
        return "127.0.0.1"

    def teardown(self) -> None:
        return None

    def instance(self) -> LoopbackInstance:
        return LoopbackInstance(self)

    def facts(self) -> Mapping[str, str]:
        return {**self.base_facts(), "nic_model": "loopback", **link_facts("lo", "env"), **tcp_facts()}
