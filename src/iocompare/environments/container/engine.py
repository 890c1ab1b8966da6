"""Driving the docker and podman CLIs: is the engine usable here, and with which runtime options.

Both engines are driven through their command lines (argv only, with timeouts), never through
an API socket, so whatever the user's CLI is configured for (DOCKER_HOST, contexts, podman's
containers.conf) is what iocompare uses.

Runtime options a real machine may need (see docs/containers.md):

- `IOCOMPARE_PODMAN_RUNTIME` / `IOCOMPARE_DOCKER_RUNTIME`: OCI runtime (runc, crun, or a path);
- `IOCOMPARE_PODMAN_CGROUP_MANAGER`: cgroupfs or systemd (docker's is a daemon setting);
- `IOCOMPARE_CONTAINER_ULIMITS`: e.g. `nofile=1024:1024,nproc=4096:4096`, or `none`.

Unset options start at the engine's defaults. A smoke container (`true`) shows whether they
work; on the failures known from real machines (crun on a hybrid cgroup hierarchy, rlimits that
root without CAP_SYS_RESOURCE may not raise, no systemd bus) the matching fix is applied and the
smoke test repeated. The configuration that worked, and why, is recorded with every result.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iocompare.errors import IocompareError
from iocompare.system.proc import Completed, run

ENGINES = ("docker", "podman")
PACKAGES = {"docker": "docker.io", "podman": "podman runc"}
ULIMITS_VAR = "IOCOMPARE_CONTAINER_ULIMITS"
FALLBACK_ULIMITS = ("nofile=1024:1024", "nproc=4096:4096")
CALL_TIMEOUT_S = 120
_ULIMIT_NAMES = frozenset(
    [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
)


def runtime_var(engine: str) -> str:
    return f"IOCOMPARE_{engine.upper()}_RUNTIME"


def cgroup_manager_var(engine: str) -> str:
    return f"IOCOMPARE_{engine.upper()}_CGROUP_MANAGER"


def config_hint(engine: str) -> str:
    names = [runtime_var(engine)] + ([cgroup_manager_var(engine)] if engine == "podman" else []) + [ULIMITS_VAR]
    return "set " + ", ".join(names) + " (see docs/containers.md)"


class ConfigError(IocompareError):
    """An IOCOMPARE_* container setting has a value that cannot work."""


@dataclass(frozen=True)
class RuntimeConfig:
    runtime: str | None = None  # None: the engine's default
    cgroup_manager: str | None = None  # podman only; None: the engine's default
    ulimits: tuple[str, ...] = ()  # "name=soft:hard"
    explicit: frozenset[str] = frozenset()  # fields the user set; never changed by a fallback
    fixes: tuple[str, ...] = ()  # what the fallback changed, and why

    @property
    def source(self) -> str:
        parts = ["environment variables" if self.explicit else "engine defaults"]
        parts += [f"fallback: {fix}" for fix in self.fixes]
        return "; ".join(parts)


def parse_ulimits(text: str) -> tuple[str, ...]:
    """`nofile=1024:1024,nproc=4096` -> ("nofile=1024:1024", "nproc=4096"); `none` -> ()."""
    text = text.strip()
    if text.lower() in ("", "none"):
        return ()
    limits = []
    for item in text.replace(" ", ",").split(","):
        if not item:
            continue
        name, sep, value = item.partition("=")
        numbers = value.split(":")
        if (
            not sep
            or name not in _ULIMIT_NAMES
            or not 1 <= len(numbers) <= 2
            or not all(n.lstrip("-").isdigit() for n in numbers)
        ):
            raise ConfigError(f"{ULIMITS_VAR}={text!r}: {item!r} is not name=soft[:hard] with a known limit name")
        limits.append(item)
    return tuple(limits)


def configured(engine: str, environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """The runtime options the user set through environment variables."""
    environ = os.environ if environ is None else environ
    explicit = set()
    runtime = environ.get(runtime_var(engine)) or None
    if runtime:
        explicit.add("runtime")
    manager = environ.get(cgroup_manager_var(engine)) or None
    if manager:
        if engine != "podman":
            raise ConfigError(
                f"{cgroup_manager_var(engine)} is not supported: docker's cgroup driver is a daemon setting"
            )
        if manager not in ("cgroupfs", "systemd"):
            raise ConfigError(f"{cgroup_manager_var(engine)}={manager!r}: must be cgroupfs or systemd")
        explicit.add("cgroup_manager")
    ulimits: tuple[str, ...] = ()
    if ULIMITS_VAR in environ:
        ulimits = parse_ulimits(environ[ULIMITS_VAR])
        explicit.add("ulimits")
    return RuntimeConfig(runtime, manager, ulimits, frozenset(explicit))


@dataclass(frozen=True)
class Problem:
    """A known failure of the smoke container, and the settings that fix it."""

    name: str
    markers: tuple[str, ...]
    fix: dict[str, object]

    def matches(self, stderr: str) -> bool:
        lowered = stderr.lower()
        return any(marker in lowered for marker in self.markers)


KNOWN_PROBLEMS = (
    # crun 1.8 refuses cgroup v1 with a v2 hierarchy mounted next to it; runc copes.
    Problem(
        "crun: cgroups in hybrid mode not supported",
        ("cgroups in hybrid mode not supported",),
        {"runtime": "runc", "cgroup_manager": "cgroupfs"},
    ),
    # podman raises RLIMIT_NOFILE/NPROC to 1M by default; root without CAP_SYS_RESOURCE may not.
    Problem(
        "rlimits above the hard limit are not permitted",
        ("setrlimit", "error setting rlimit"),
        {"ulimits": FALLBACK_ULIMITS},
    ),
    # The systemd cgroup manager needs a running systemd and its bus.
    Problem(
        "no systemd bus for the systemd cgroup manager",
        ("/run/systemd/private", "failed to connect to bus", "sd-bus call", "systemd not running"),
        {"cgroup_manager": "cgroupfs"},
    ),
)


def first_line(text: str) -> str:
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return line.removeprefix("Error: ").removeprefix("error: ")[:300]
    return "no error output"


def resolve(
    engine: str, config: RuntimeConfig, attempt: Callable[[RuntimeConfig], Completed]
) -> tuple[RuntimeConfig | None, str | None]:
    """Run the smoke container with `config`, applying known fixes; (config, None) or (None, why)."""
    for _ in range(len(KNOWN_PROBLEMS) + 1):
        done = attempt(config)
        if done.exit_code == 0:
            return config, None
        problem = next((p for p in KNOWN_PROBLEMS if p.matches(done.stderr)), None)
        changes: dict[str, Any] = {}  # RuntimeConfig fields of several types
        if problem is not None:
            for field, value in problem.fix.items():
                if field in config.explicit or (field == "cgroup_manager" and engine != "podman"):
                    continue
                if field == "runtime" and shutil.which(str(value)) is None:
                    continue
                if getattr(config, field) != value:
                    changes[field] = value
        if not changes:
            return None, f"{engine} cannot start a container: {first_line(done.stderr)} (hint: {config_hint(engine)})"
        assert problem is not None  # changes come only from a problem's fix
        config = dataclasses.replace(config, **changes, fixes=(*config.fixes, problem.name))
    return None, f"{engine} cannot start a container with any known configuration (hint: {config_hint(engine)})"


class Engine:
    """One container CLI plus the runtime options every call carries."""

    def __init__(self, name: str, binary: str, config: RuntimeConfig | None = None) -> None:
        if name not in ENGINES:
            raise ValueError(name)
        self.name = name
        self.binary = binary
        self.config = config if config is not None else RuntimeConfig()

    def with_config(self, config: RuntimeConfig) -> Engine:
        return Engine(self.name, self.binary, config)

    def global_args(self) -> list[str]:
        # podman takes runtime and cgroup manager as global flags: exec and rm then use the same.
        if self.name != "podman":
            return []
        args = []
        if self.config.cgroup_manager:
            args.append(f"--cgroup-manager={self.config.cgroup_manager}")
        if self.config.runtime:
            args.append(f"--runtime={self.config.runtime}")
        return args

    def run_args(self) -> list[str]:
        """Options of `run` for a container of this configuration."""
        args = [f"--runtime={self.config.runtime}"] if self.name == "docker" and self.config.runtime else []
        for limit in self.config.ulimits:
            args += ["--ulimit", limit]
        return args

    def argv(self, *args: str) -> list[str]:
        return [self.binary, *self.global_args(), *args]

    def call(self, *args: str, timeout_s: float = CALL_TIMEOUT_S, check: bool = True) -> Completed:
        return run(self.argv(*args), timeout_s=timeout_s, check=check)

    def remove_container_args(self, name: str) -> list[str]:
        # podman waits 10 s for `sleep` (PID 1 ignores SIGTERM) unless told not to. One name per
        # call: podman 4.3 `rm -f gone kept` exits 0 and leaves `kept` in place.
        return ["rm", "-f", *(["-t", "0"] if self.name == "podman" else []), name]

    def json(self, *args: str) -> object:
        return json.loads(self.call(*args).stdout or "null")


def inspect_one(engine: Engine, kind: str, name: str) -> dict[str, Any] | None:
    """`<engine> <kind> inspect NAME` as a dict, or None when it does not exist."""
    done = engine.call(kind, "inspect", name, check=False)
    if done.exit_code != 0:
        return None
    data = json.loads(done.stdout or "[]")
    return data[0] if isinstance(data, list) and data else None


def labels_of(inspected: Mapping[str, object]) -> dict[str, str]:
    """Labels of an inspected container, volume or image (the engines put them in different places)."""
    for holder in (inspected.get("Config"), inspected):
        if isinstance(holder, Mapping) and isinstance(holder.get("Labels"), Mapping):
            return {str(k): str(v) for k, v in holder["Labels"].items()}
    return {}


def names(engine: Engine, *args: str) -> Sequence[str]:
    done = engine.call(*args, check=False)
    return [line.strip() for line in done.stdout.splitlines() if line.strip()] if done.exit_code == 0 else []
