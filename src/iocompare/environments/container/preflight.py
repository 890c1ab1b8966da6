"""Before a run: is the engine there, which runtime options work, is fio inside the host's fio?

Results are cached per process and per configuration (the engine's environment variables), so
`iocompare envs` and `iocompare run` ask each engine once, however many variants they list.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from iocompare.environments.container.engine import (
    ConfigError,
    Engine,
    RuntimeConfig,
    configured,
    first_line,
    resolve,
)
from iocompare.environments.container.image import FIO_IN_IMAGE, find_busybox
from iocompare.environments.container.labels import owner_labels
from iocompare.environments.container.probe import forget_status, status, status_key
from iocompare.errors import EnvironmentUnavailable, ToolError
from iocompare.system.proc import Completed

_CONFIG: dict[tuple[str | None, ...], tuple[RuntimeConfig | None, str | None]] = {}
_FIO_INSIDE: dict[tuple[object, ...], str] = {}


def reset_cache() -> None:
    """Forget what was learnt about the engines (a test started or stopped a daemon)."""
    forget_status()
    _CONFIG.clear()
    _FIO_INSIDE.clear()


def _probe_name() -> str:
    return f"iocompare-probe-{os.getpid()}-{secrets.token_hex(3)}"


def _attempt(engine: Engine, source: list[str], command: list[str]) -> Completed:
    """One short-lived container (removed even when the runtime failed half-way)."""
    name = _probe_name()
    done = None
    try:
        done = engine.call(
            "run",
            "--rm",
            "--name",
            name,
            *owner_labels("probe"),
            "--network=none",
            *engine.run_args(),
            *source,
            *command,
            check=False,
        )
        return done
    finally:
        if done is None or done.exit_code != 0:  # --rm does not cover a runtime that failed half-way
            engine.call(*engine.remove_container_args(name), check=False)


def _rootfs_attempt(engine: Engine, config: RuntimeConfig) -> Completed:
    """podman can run a plain directory: a smoke test that needs no image (podman only)."""
    busybox = find_busybox()
    with tempfile.TemporaryDirectory(prefix="iocompare-smoke-") as rootfs:
        (Path(rootfs) / "bin").mkdir()
        shutil.copy2(busybox, Path(rootfs) / "bin" / "busybox")  # type: ignore[arg-type]
        os.symlink("busybox", Path(rootfs) / "bin" / "true")
        return _attempt(engine.with_config(config), ["--rootfs", rootfs], ["/bin/true"])


def _resolved(
    kind: str, attempt: Callable[[Engine, RuntimeConfig], Completed]
) -> tuple[RuntimeConfig | None, str | None]:
    key = status_key(kind)
    if key not in _CONFIG:
        engine = status(kind).engine()
        try:
            start = configured(kind)
        except ConfigError as exc:
            return None, exc.message
        _CONFIG[key] = resolve(kind, start, lambda config: attempt(engine, config))
    return _CONFIG[key]


def smoke_reason(kind: str) -> str | None:
    """Why `kind` cannot run containers here, or None. Starts a container only for podman (via
    --rootfs, no image needed); docker's runtime options are settled with the image at run time."""
    reason = status(kind).reason
    if reason is not None:
        return reason
    if kind != "podman" or find_busybox() is None:
        return None
    return _resolved(kind, _rootfs_attempt)[1]


def ready_engine(kind: str, image: str) -> Engine:
    """The engine with runtime options that start a container from `image`, or EnvironmentUnavailable."""
    engine_status = status(kind)
    if engine_status.reason is not None:
        raise EnvironmentUnavailable(f"environment {kind!r} is unavailable here: {engine_status.reason}")
    config, reason = _resolved(kind, lambda engine, cfg: _attempt(engine.with_config(cfg), [], [image, "/bin/true"]))
    if config is None:
        raise EnvironmentUnavailable(f"{reason}")
    return engine_status.engine(config)


def inside_fio_version(engine: Engine, image: str) -> str:
    """`fio --version` as printed inside a container of `image`."""
    key = (engine.name, engine.binary, engine.config, image, os.environ.get("DOCKER_HOST"))
    if key not in _FIO_INSIDE:
        done = _attempt(engine, [], [image, FIO_IN_IMAGE, "--version"])
        if done.exit_code != 0:
            raise ToolError(f"fio --version in {engine.name} image {image} failed: {first_line(done.stderr)}")
        _FIO_INSIDE[key] = done.stdout.strip()
    return _FIO_INSIDE[key]
