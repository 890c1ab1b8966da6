"""Containers as network paths: the host's iperf3/sockperf server in a fresh container per trial,
on a bridge network the run creates (`podman network create --subnet 198.18.N.0/24`, never the
engine's default network) or with `--network host`. The image is the fio image, which carries the
host's load tools and libraries; their versions inside are checked equal to the host's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import ClassVar

from iocompare.engines.net_binary import check_same_version
from iocompare.environments.base import RunContext
from iocompare.environments.container.engine import Engine
from iocompare.environments.container.image import LOADS_IN_IMAGE, ensure_image
from iocompare.environments.container.labels import owner_labels
from iocompare.environments.container.preflight import ready_engine
from iocompare.environments.container.probe import status
from iocompare.environments.net.addresses import free_subnet, host_and_peer
from iocompare.environments.net.base import LOADS, NetEnvironment, NetInstance
from iocompare.environments.net.links import link_facts, tcp_facts
from iocompare.errors import UserError
from iocompare.system.resources import Resource

VARIANTS = {None: "the run's own bridge network (198.18.N.0/24)", "host": "--network host (no bridge, no veth)"}


class ContainerNetInstance(NetInstance):
    environment: ContainerNetEnvironment

    def __init__(self, environment: ContainerNetEnvironment, number: int) -> None:
        super().__init__(environment)
        # Engine names, not interfaces: `iocompare-<run>-...`, the form leftover recovery proves ours.
        self.name = f"iocompare-{environment.context.run_tag}-net-server-{number}"
        self._resource: Resource | None = None

    def server_command(self, server_argv: Sequence[str]) -> list[str]:
        env = self.environment
        resources = env.context.resources
        self._resource = resources.add("container", self.name, engine=env.engine.name, note="network server")
        network = ["--network", "host"] if env.host_network else ["--network", env.network_name, "--ip", env.address]
        return env.engine.argv(
            "run", "--rm", "--name", self.name, *owner_labels(env.context.run_tag), *env.engine.run_args(),
            *network, env.image_name, *server_argv,
        )  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        self.stop_server()  # the engine client; the container itself goes with rm -f
        if self._resource is not None:
            self.environment.context.resources.release(self._resource)
            self.environment.engine.call(*self.environment.engine.remove_container_args(self.name), check=False)


class ContainerNetEnvironment(NetEnvironment):
    engine_kind: ClassVar[str]

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        _kind, _, variant = name.partition(":")
        self.host_network = variant == "host"
        self._engine: Engine | None = None
        self.image_name = ""
        self.address = "127.0.0.1"
        self._numbers = itertools.count(1)
        self._network: Resource | None = None
        self._inside: dict[str, str] = {}
        self._network_info: dict[str, object] = {}

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        return tuple((variant, f"network: {cls.engine_kind} container, {text}") for variant, text in VARIANTS.items())

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        if variant not in VARIANTS:
            return f"unknown variant {variant!r} (known: host)"
        return status(cls.engine_kind).reason

    @property
    def engine(self) -> Engine:
        assert self._engine is not None, "setup() first"
        return self._engine

    @property
    def network_name(self) -> str:
        return f"iocompare-{self.context.run_tag}-net"

    @property
    def server_address(self) -> str:
        return self.address

    def binary_in_environment(self, load: str) -> str:
        return LOADS_IN_IMAGE[load]

    def setup(self) -> None:
        super().setup()
        image = ensure_image(self.engine_kind, self.context.fio.path)
        self.image_name = image.name
        self._engine = ready_engine(self.engine_kind, self.image_name)
        for load in LOADS:
            done = self.engine.call("run", "--rm", *self.engine.run_args(), "--network", "none", self.image_name,
                                    LOADS_IN_IMAGE[load], "--version", check=False)  # fmt: skip
            if done.exit_code != 0 and "version" not in done.stdout + done.stderr:
                raise UserError(
                    f"{load} does not run in {self.engine_kind} image {self.image_name}: {done.stderr.strip()[:200]}",
                    hint=f"apt-get install {load}; iocompare image build --kind {self.engine_kind} --force",
                )
            self._inside[load] = check_same_version(self.loads[load], done.stdout + done.stderr, self.image_name)
        if self.host_network:
            return
        subnet = free_subnet(self.context.run_tag, f"{self.engine_kind}-net")
        gateway, self.address = host_and_peer(subnet)
        # Registered before creation: a kill in between leaves a manifest entry, not an orphan.
        self._network = self.context.resources.add(
            "network", self.network_name, engine=self.engine_kind, note="the run's own bridge network"
        )
        self.engine.call(
            "network", "create", "--subnet", str(subnet), "--gateway", gateway, "--disable-dns",
            *owner_labels(self.context.run_tag), self.network_name,
        )  # fmt: skip

    def teardown(self) -> None:
        if self._network is not None:
            self.context.resources.release(self._network)
            self._network = None

    def instance(self) -> ContainerNetInstance:
        return ContainerNetInstance(self, next(self._numbers))

    def facts(self) -> Mapping[str, str]:
        facts = {
            **self.base_facts(),
            **{f"{load}_version_inside": version for load, version in self._inside.items()},
            "container_image": self.image_name,
            "nic_model": "host network namespace" if self.host_network else "veth on the engine's bridge",
            **tcp_facts(),
        }
        if self.host_network or self._engine is None:
            facts["engine_network_driver"] = "host"
            return facts
        data = self._network_data()
        facts["engine_network_driver"] = str(data.get("driver_and_backend", "?"))
        facts["network_address"] = self.address
        bridge = data.get("network_interface")
        if isinstance(bridge, str) and bridge:
            facts.update(link_facts(bridge, "bridge"))
        return facts

    def _network_data(self) -> dict[str, object]:
        """The engine's own description of the run's network, asked once (facts are read every trial)."""
        if not self._network_info:
            done = self.engine.call("network", "inspect", self.network_name, check=False)
            try:
                data = json.loads(done.stdout)[0]
            except (ValueError, IndexError, KeyError, TypeError):
                return {}
            backend = self.engine.call("info", "--format", "{{.Host.NetworkBackend}}", check=False).stdout.strip()
            data["driver_and_backend"] = f"{data.get('driver', '?')} ({backend or 'backend unknown'})"
            self._network_info = data
        return self._network_info


class PodmanNetEnvironment(ContainerNetEnvironment):
    kind = "podman-net"
    engine_kind = "podman"
    description = "network: podman container on the run's own bridge network"
