"""What every network path shares: an `Environment` with no storage (a network cell writes no
working set) whose instance starts the load server inside the path and names the address the
host's client reaches it at."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path

from iocompare.engines.net_binary import LoadBinary, find_load
from iocompare.environments.base import CacheLayer, Environment, Instance, RunContext, SpaceNeed
from iocompare.environments.net.addresses import free_port
from iocompare.environments.net.server import ServerProcess
from iocompare.errors import ToolError
from iocompare.model import FioRun

LOADS = ("iperf3", "sockperf")


class NetInstance(Instance):
    """One trial's fresh server side: a new server process (a new container, a new guest)."""

    def __init__(self, environment: NetEnvironment) -> None:
        self.environment = environment
        self.server: ServerProcess | None = None

    @property
    def address(self) -> str:
        return self.environment.server_address

    def prepare(self) -> Mapping[str, str]:
        return {}

    @abc.abstractmethod
    def server_command(self, server_argv: Sequence[str]) -> list[str]:
        """The host command that runs `server_argv` (the tool's own argv) inside the path."""

    def start_server(self, load: str, server_argv: Sequence[str]) -> None:
        self.server = ServerProcess(self.server_command(server_argv), load, self.environment.context.resources)
        self.server.start()

    def stop_server(self) -> str:
        if self.server is None:
            return ""
        self.server.stop()
        return self.server.output()

    def pids_to_monitor(self) -> Sequence[int]:
        pid = None if self.server is None else self.server.pid
        return () if pid is None else (pid,)

    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        raise ToolError(f"{self.environment.name} is a network path: it runs iperf3 and sockperf, not fio")

    def __exit__(self, *exc: object) -> None:
        self.stop_server()


class NetEnvironment(Environment):
    """A network path. Subclasses create the path in setup() and remove it in teardown()."""

    network: bool = True

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        self.loads: dict[str, LoadBinary] = {}
        self.port = 0

    @property
    @abc.abstractmethod
    def server_address(self) -> str:
        """Where the host's iperf3/sockperf client connects."""

    @abc.abstractmethod
    def instance(self) -> NetInstance:
        """A fresh server side for one trial (use as a context manager)."""

    def binary_in_environment(self, load: str) -> str:
        """The path of the load tool as the environment runs it (the host's, by default)."""
        return self.loads[load].path

    def setup(self) -> None:
        self.loads = {load: find_load(load) for load in LOADS}
        self.port = free_port(self.context.run_tag)

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        return None

    def working_set_path(self, size_bytes: int) -> str:
        return ""

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        return ()

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        return ()

    @property
    def host_storage_path(self) -> Path:
        return self.context.target

    def base_facts(self) -> dict[str, str]:
        facts = {"network_path": self.name}
        for load, binary in self.loads.items():
            facts[f"{load}_version"] = binary.version
        return facts
