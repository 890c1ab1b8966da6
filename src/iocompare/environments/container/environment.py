"""Docker and Podman: fio in a fresh container per trial, on one of four storage variants.

- bind (default): a scratch directory of the target filesystem, bind-mounted at /data;
- volume: a named volume of the engine's local driver (its directory on the host);
- overlay: the container's writable layer (the engine's storage driver, e.g. overlay2);
- tmpfs: a tmpfs at /data, which measures memory and is flagged `memory_backed`.

fio is reached with `exec` in the running container; the job file and fio's json+ output go
through a bind-mounted work directory (/iocompare). See docs/containers.md for the reasons.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from iocompare.environments.base import (
    CacheLayer,
    Environment,
    Instance,
    InstanceLedger,
    RunContext,
    SpaceNeed,
)
from iocompare.environments.blockdev import is_block_device
from iocompare.environments.container.engine import Engine
from iocompare.environments.container.image import ContainerImageBuilder, ensure_image
from iocompare.environments.container.instance import (
    TARGET_IN_CONTAINER,
    WORK_IN_CONTAINER,
    ContainerInstance,
)
from iocompare.environments.container.labels import owner_labels
from iocompare.environments.container.preflight import (
    inside_fio_version,
    ready_engine,
    smoke_reason,
)
from iocompare.environments.container.probe import status
from iocompare.environments.extents import working_set_facts
from iocompare.environments.host import check_target, lay_out_on_host
from iocompare.environments.image import ImageInfo
from iocompare.errors import UserError
from iocompare.facts.judge import storage_facts_for
from iocompare.facts.probe import Mount, clock_facts, mount_holding, storage_facts
from iocompare.system.resources import Resource, RunResources
from iocompare.units import short_size

DRY_RUN_TAG = "dry-run"  # the run tag `iocompare run --dry-run` gives its RunContext


@dataclass(frozen=True)
class Variant:
    mount_kind: str
    description: str
    per_trial_layout: bool  # storage dies with each container: lay the working set out per trial


VARIANTS: dict[str | None, Variant] = {
    None: Variant("bind", "bind mount of a scratch directory on the target filesystem (default)", False),
    "volume": Variant("volume", "named volume of the engine's local volume driver", False),
    "overlay": Variant("overlay", "the container's writable layer (the engine's storage driver)", True),
    "tmpfs": Variant("tmpfs", "tmpfs at the target: measures memory, flagged memory_backed", True),
}


def mount_inside(mountinfo: str, path: str = TARGET_IN_CONTAINER) -> Mount | None:
    """The mount holding `path` in a container's /proc/self/mountinfo (the longest prefix)."""
    return mount_holding(path, mountinfo)


class ContainerEnvironment(Environment):
    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        variant = name.partition(":")[2] or None
        if variant not in VARIANTS:
            raise UserError(
                f"{self.kind} has no storage variant {variant!r}", hint=f"known: {', '.join(self._names())}"
            )
        if is_block_device(context.target):
            raise UserError(
                f"{name} needs a directory as --target, not the block device {context.target}",
                hint="pass a directory on the filesystem under test",
            )
        self.variant = VARIANTS[variant]
        self.slug = name.replace(":", "-")
        self.run_dir = context.target.resolve() / f"iocompare-{context.run_tag}"
        self.scratch = self.run_dir / self.slug
        self.work_dir = self.run_dir / f"{self.slug}-io"
        self.volume = f"iocompare-{context.run_tag}-{self.slug}"
        self.image: ImageInfo | None = None
        self._engine: Engine | None = None
        self.fio_inside = ""
        if context.run_tag != DRY_RUN_TAG:  # a dry run builds nothing and starts nothing
            self.preflight()
        self.instances: InstanceLedger[ContainerInstance] = InstanceLedger()
        self._registered: list[Resource] = []
        self._volume_created = False
        self._volume_path: Path | None = None
        self._inside: Mount | None = None
        self._facts: dict[str, str] | None = None
        self._laid_out: set[int] = set()
        self.working_set_bytes: int | None = None
        # A bind mount reaches the host's filesystem: it reads the run's shared working-set file.
        self.shares_working_set = context.working_sets.enabled and self.variant.mount_kind == "bind"
        self.shared_dir = context.working_sets.directory(context.run_dir)

    def preflight(self) -> None:
        """Before anything is stored: the image (built once, cached), runtime options that start a
        container here, and the same fio build inside as on the host (else bad input, exit 2)."""
        if self._engine is not None:
            return
        self.image = ensure_image(self.kind, self.context.fio.path)
        engine = ready_engine(self.kind, self.image.name)
        self.fio_inside = inside_fio_version(engine, self.image.name)
        if self.fio_inside != self.context.fio.version:
            raise UserError(
                f"fio in {self.kind} image {self.image.name} is {self.fio_inside}, "
                f"the host's is {self.context.fio.version}: results would not compare the same fio build",
                hint=f"iocompare image build --kind {self.kind} --force",
            )
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self.preflight()
        assert self._engine is not None
        return self._engine

    @property
    def image_name(self) -> str:
        self.preflight()
        assert self.image is not None
        return self.image.name

    @classmethod
    def _names(cls) -> list[str]:
        return [cls.kind if v is None else f"{cls.kind}:{v}" for v in VARIANTS]

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        return [(variant, f"{cls.kind}: {spec.description}") for variant, spec in VARIANTS.items()]

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        if variant not in VARIANTS:
            return f"{cls.kind} has no storage variant {variant!r}"
        return smoke_reason(cls.kind) or ContainerImageBuilder(cls.kind).unavailable_reason()

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        check_target(self.context.target)
        self.preflight()
        resources = self.context.resources
        # Registered before creation: a kill between the two must not leak them.
        self._registered = [
            resources.add_path(self.run_dir, note="run scratch directory"),
            resources.add_path(self.work_dir, note=f"{self.name} job and output directory"),
        ]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.shares_working_set:
            self.context.working_sets.acquire(self.name, self.context.run_dir, resources)
        elif self.variant.mount_kind == "bind":
            self._registered.append(resources.add_path(self.scratch, note=f"{self.name} scratch directory"))
            self.scratch.mkdir(parents=True, exist_ok=True)
        if self.variant.mount_kind == "volume":
            self._registered.append(resources.add("volume", self.volume, engine=self.kind, note=f"{self.name} volume"))
            self._volume_created = True
            self.engine.call("volume", "create", *owner_labels(self.context.run_tag), self.volume)
            mountpoint = self.engine.call(
                "volume", "inspect", "--format", "{{.Mountpoint}}", self.volume
            ).stdout.strip()
            self._volume_path = Path(mountpoint) if mountpoint else None
        self._inside = self._probe_mount()

    def teardown(self) -> None:
        for left in self.instances.live():  # what a failed or interrupted trial could not remove
            if left.name is not None:
                self.engine.call(*self.engine.remove_container_args(left.name), check=False)
            self.instances.release(left.index)
        if self._volume_created:
            self.engine.call("volume", "rm", "-f", self.volume, check=False)
            self._volume_created = False
        shutil.rmtree(self.scratch, ignore_errors=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        if self.shares_working_set:
            self.context.working_sets.release(self.name, self.context.run_dir, self.context.resources)
        try:
            self.run_dir.rmdir()  # the run's directory, once no environment uses it
        except OSError:
            pass
        for resource in self._registered:
            if resource.kind == "volume" or not Path(resource.ident).exists():
                self.context.resources.discard(resource)
        self._registered = []

    def _probe_mount(self) -> Mount | None:
        """What fio will see at /data: one short container with this variant's storage."""
        with ContainerInstance(self, ledger=self.instances) as probe:
            text = probe.exec_text(["/bin/cat", "/proc/self/mountinfo"])
        return mount_inside(text)

    # -- what a container is made of -------------------------------------------------------

    # -- what one container needs (container/instance.py's ContainerHost) ------------------

    @property
    def resources(self) -> RunResources:
        return self.context.resources

    @property
    def run_tag(self) -> str:
        return self.context.run_tag

    @property
    def per_trial_layout(self) -> bool:
        return self.variant.per_trial_layout

    def crossover_unreachable(self) -> str | None:
        kind = self.variant.mount_kind
        if kind == "bind":
            return None  # the other file's directory is bind-mounted at /data instead
        where = {"volume": "a named volume", "overlay": "the container's writable layer", "tmpfs": "tmpfs"}[kind]
        return f"{self.name} keeps its working set in {where}, which cannot hold another environment's file"

    def _bind_source(self) -> Path:
        if self.crossover_file is not None:
            return self.crossover_file.parent
        return self.shared_dir if self.shares_working_set else self.scratch

    def storage_args(self) -> list[str]:
        kind = self.variant.mount_kind
        if kind == "bind":
            source = self._bind_source()
            return ["-v", f"{source}:{TARGET_IN_CONTAINER}"]
        if kind == "volume":
            return ["-v", f"{self.volume}:{TARGET_IN_CONTAINER}"]
        if kind == "tmpfs":
            return ["--tmpfs", f"{TARGET_IN_CONTAINER}:rw"]
        return []  # overlay: /data is a directory of the image, written in the container's layer

    def instance(self) -> Instance:
        return ContainerInstance(self, ledger=self.instances)

    # -- working set -----------------------------------------------------------------------

    def working_set_path(self, size_bytes: int) -> str:
        if self.crossover_file is not None:
            return f"{TARGET_IN_CONTAINER}/{self.crossover_file.name}"
        return f"{TARGET_IN_CONTAINER}/working-set-{short_size(size_bytes)}.dat"

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        self.working_set_bytes = size_bytes
        if self.crossover_file is not None:
            return  # laid out by the cross-over diagnosis
        if self.shares_working_set:
            self.context.working_sets.ensure(
                self.context.run_dir,
                size_bytes,
                lambda path: lay_out_on_host(
                    self.work_dir, self.context.fio.path, path, size_bytes, timeout_s=timeout_s
                ),
            )
            return
        if self.variant.per_trial_layout or size_bytes in self._laid_out:
            return  # laid out inside each fresh instance by prepare()
        with ContainerInstance(self, ledger=self.instances) as instance:
            instance.lay_out(size_bytes, timeout_s=timeout_s)
        self._laid_out.add(size_bytes)

    # -- facts -----------------------------------------------------------------------------

    @property
    def host_storage_path(self) -> Path:
        kind = self.variant.mount_kind
        candidates = {
            "bind": self._bind_source(),
            "volume": self._volume_path,
            "overlay": Path(status(self.kind).info.get("graph_root") or self.context.target),
        }.get(kind)
        return candidates if candidates is not None and candidates.exists() else self.context.target

    def facts(self) -> Mapping[str, str]:
        if self._facts is not None:
            return self._facts
        info, config = status(self.kind).info, self.engine.config
        facts = {
            "kind": self.kind,
            "engine": self.kind,
            "engine_version": info.get("engine_version", "?"),
            "runtime": config.runtime or info.get("default_runtime", "?"),
            "cgroup_manager": config.cgroup_manager or info.get("cgroup_manager", "?"),
            "cgroup_version": info.get("cgroup_version", "?"),
            "ulimits": ",".join(config.ulimits) or "engine default",
            "container_config": config.source,
            "storage_driver": info.get("storage_driver", "?"),
            "image": self.image_name,
            "image_hash": self.image.content_hash if self.image else "?",
            "fio_version": self.context.fio.version,
            "fio_version_inside": self.fio_inside,
            "fio_path": f"{self.context.fio.path} (copied into the image)",
            "fio_reached_by": f"{self.kind} exec; job file and json+ output in a bind-mounted {WORK_IN_CONTAINER}",
            "network": "none",
            "mount_kind": self.variant.mount_kind,
            "container_target_path": TARGET_IN_CONTAINER,
            **clock_facts(),  # one kernel: fio in the container is timed by the host's clock
        }
        host = storage_facts(self.host_storage_path)
        facts["host_fs_type"] = host.pop("fs_type")
        facts.update(host)
        if self.variant.mount_kind == "volume":
            facts["volume"] = self.volume
        if self.variant.per_trial_layout:
            facts["working_set_laid_out_per_trial"] = "yes"
        if self._inside is not None:
            inside = self._inside.fs_type
            facts.update(
                fs_type=inside,
                fs_type_inside=inside,
                mount_point_inside=self._inside.mount_point,
                mount_source_inside=self._inside.source,
                mount_options_inside=self._inside.options,
            )
            facts.update(storage_facts_for(inside))
            self._facts = facts
        return facts

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        kind = self.variant.mount_kind
        if kind == "tmpfs":
            return ()  # memory, not disk
        if kind == "bind" and self.shares_working_set:
            shared = self.context.working_sets.path(self.context.run_dir, working_set_bytes)
            return (SpaceNeed(self.context.target, working_set_bytes, "shared working set", shared_as=shared),)
        if kind == "bind":
            return (SpaceNeed(self.context.target, working_set_bytes, f"{self.name}: working set"),)
        root = Path(status(self.kind).info.get("graph_root") or self.context.target)
        what = "working set in a volume" if kind == "volume" else "working set in the container layer"
        return (SpaceNeed(root, working_set_bytes, f"{self.name}: {what}"),)

    def working_set_facts(self, size_bytes: int) -> Mapping[str, str]:
        if self.variant.mount_kind != "bind":
            return {}  # a volume, the container's layer or tmpfs: no host file of its own to map
        if self.crossover_file is not None:
            return working_set_facts(self.crossover_file)
        shared = self.shares_working_set
        path = self.context.working_sets.path(self.context.run_dir, size_bytes) if shared else None
        path = path or self.scratch / Path(self.working_set_path(size_bytes)).name
        return working_set_facts(path, self.context.working_sets.users() if shared else ())

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        if self.variant.mount_kind == "tmpfs":
            return ()  # the storage itself is memory: flagged memory_backed, not a cache to outsize
        return (CacheLayer("host page cache", psutil.virtual_memory().total, bypassed=direct),)


class DockerEnvironment(ContainerEnvironment):
    kind = "docker"
    description = "fio in a fresh Docker container per trial"


class PodmanEnvironment(ContainerEnvironment):
    kind = "podman"
    description = "fio in a fresh Podman container per trial"
