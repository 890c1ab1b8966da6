"""Is a container engine usable here? Its CLI, its daemon, what it reports about itself.

Asked once per process and configuration (`status`), so `iocompare envs` and `iocompare run` ask
each engine once however many variants they list. No container is started here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from iocompare.environments.container.engine import (
    PACKAGES,
    ULIMITS_VAR,
    ConfigError,
    Engine,
    RuntimeConfig,
    cgroup_manager_var,
    configured,
    first_line,
    runtime_var,
)
from iocompare.errors import IocompareError


@dataclass(frozen=True)
class EngineStatus:
    name: str
    binary: str | None
    reason: str | None  # None: usable
    info: Mapping[str, str]  # version, storage driver, graph root, default runtime, cgroups

    def engine(self, config: RuntimeConfig | None = None) -> Engine:
        assert self.binary is not None
        return Engine(self.name, self.binary, config)


def _daemon_reason(engine: str, stderr: str) -> str:
    lowered = stderr.lower()
    if "permission denied" in lowered:
        return (
            f"permission denied talking to {engine}: {first_line(stderr)} (hint: run as root or join the docker group)"
        )
    if engine == "docker" and (
        "cannot connect to the docker daemon" in lowered or "is the docker daemon running" in lowered
    ):
        return (
            "the Docker daemon is not running "
            "(hint: start it: systemctl start docker, or dockerd --iptables=false --bridge=none &)"
        )
    return f"{engine} does not answer: {first_line(stderr)}"


class _Unreachable(IocompareError):
    pass


def _info_json(engine: Engine, *args: str) -> dict[str, Any]:
    done = engine.call("info", *args, check=False, timeout_s=60)
    if done.exit_code != 0:
        raise _Unreachable(_daemon_reason(engine.name, done.stderr or done.stdout))
    data = json.loads(done.stdout)
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    return data


def _info(engine: Engine) -> dict[str, str]:
    if engine.name == "docker":
        data = _info_json(engine, "--format", "{{json .}}")
        errors = data.get("ServerErrors") or []
        if errors or not data.get("ServerVersion"):
            raise _Unreachable(_daemon_reason("docker", "\n".join(errors) or "no server version"))
        return {
            "engine_version": str(data.get("ServerVersion", "")),
            "storage_driver": str(data.get("Driver", "")),
            "graph_root": str(data.get("DockerRootDir", "")),
            "default_runtime": str(data.get("DefaultRuntime", "")),
            "cgroup_manager": str(data.get("CgroupDriver", "")),
            "cgroup_version": str(data.get("CgroupVersion", "")),
        }
    data = _info_json(engine, "--format", "json")
    host, store = data.get("host", {}), data.get("store", {})
    return {
        "engine_version": str(data.get("version", {}).get("Version", "")),
        "storage_driver": str(store.get("graphDriverName", "")),
        "graph_root": str(store.get("graphRoot", "")),
        "default_runtime": str(host.get("ociRuntime", {}).get("name", "")),
        "cgroup_manager": str(host.get("cgroupManager", "")),
        "cgroup_version": str(host.get("cgroupVersion", "")).removeprefix("v"),
    }


def probe(name: str) -> EngineStatus:
    """Is the CLI installed and its engine answering? (No container is started here.)"""
    binary = shutil.which(name)
    if binary is None:
        return EngineStatus(name, None, f"{name} is not installed (hint: apt-get install {PACKAGES[name]})", {})
    engine = Engine(name, binary)
    try:
        configured(name)
        info = _info(engine)
    except ConfigError as exc:
        return EngineStatus(name, binary, exc.message, {})
    except IocompareError as exc:  # unreachable, or the CLI itself timed out or vanished
        return EngineStatus(name, binary, exc.message.splitlines()[0], {})
    except (ValueError, TypeError, AttributeError) as exc:
        return EngineStatus(name, binary, f"{name} info is not understood: {exc}", {})
    return EngineStatus(name, binary, None, info)


_STATUS: dict[tuple[str | None, ...], EngineStatus] = {}


def status_key(kind: str) -> tuple[str | None, ...]:
    """What a probe's answer depends on: the CLI found on PATH, where it connects, our settings."""
    names = (
        "PATH",
        "DOCKER_HOST",
        "DOCKER_CONTEXT",
        "CONTAINER_HOST",
        runtime_var(kind),
        cgroup_manager_var(kind),
        ULIMITS_VAR,
    )
    return (kind, *(os.environ.get(name) for name in names))


def status(kind: str) -> EngineStatus:
    """`probe(kind)`, asked once per process and configuration."""
    key = status_key(kind)
    if key not in _STATUS:
        _STATUS[key] = probe(kind)
    return _STATUS[key]


def forget_status() -> None:
    _STATUS.clear()
