"""The bare host: fio runs directly on a scratch directory of the target filesystem."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

from iocompare.engines.fio_argv import fio_argv
from iocompare.engines.fio_job import render_layout_job
from iocompare.environments.base import CacheLayer, Environment, Instance, RunContext, SpaceNeed
from iocompare.environments.blockdev import device_facts, is_block_device
from iocompare.environments.extents import working_set_facts
from iocompare.errors import ToolError, UserError
from iocompare.facts.probe import clock_facts, storage_facts
from iocompare.model import FioRun
from iocompare.system.proc import describe_failure, run
from iocompare.units import short_size

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def check_target(target: Path) -> None:
    """The target must be an existing, writable directory (or a block device, guarded elsewhere)."""
    if is_block_device(target):
        return
    if not target.exists():
        raise UserError(f"target directory {target} does not exist", hint="create it or pass --target DIR")
    if not target.is_dir():
        raise UserError(f"target {target} is not a directory", hint="pass --target DIR")
    try:
        with tempfile.TemporaryFile(dir=target, prefix=".iocompare-probe-"):
            pass
    except OSError as exc:
        raise UserError(
            f"target directory {target} is not writable: {exc.strerror}",
            hint="pass --target DIR on a writable filesystem",
        ) from None


def drop_host_caches() -> str:
    """Write back dirty pages, then drop clean caches. Returns what happened, for the facts."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
    except OSError as exc:
        return f"no ({exc.strerror})"
    return "yes"


def run_fio_in(
    directory: Path, fio_path: str, job_text: str, *, timeout_s: float, on_start: Callable[[int], None] | None = None
) -> FioRun:
    """Run a job file with json+ output to a file inside `directory` (removed afterwards)."""
    work = Path(tempfile.mkdtemp(prefix="fio-", dir=directory))
    try:
        job_file, output_file = work / "job.fio", work / "out.json"
        job_file.write_text(job_text)
        argv = fio_argv(fio_path, output=str(output_file), job=str(job_file))
        done = run(argv, timeout_s=timeout_s, check=False, cwd=str(work), on_start=on_start)
        output = output_file.read_text() if output_file.exists() else ""
        return FioRun(done.argv, done.exit_code, output, done.stderr, done.wall_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def lay_out_on_host(directory: Path, fio_path: str, path: Path, size_bytes: int, *, timeout_s: float) -> None:
    """Write a working-set file with the host's fio (sequential, end_fsync): the shared file, for
    whichever environment needs it first (job files go to `directory`)."""
    fio_run = run_fio_in(
        directory, fio_path, render_layout_job(filename=str(path), size_bytes=size_bytes), timeout_s=timeout_s
    )
    if fio_run.exit_code != 0:
        raise ToolError(
            f"laying out the working set {path} failed:\n"
            + describe_failure(fio_run.argv, fio_run.exit_code, fio_run.stderr)
        )


class HostInstance(Instance):
    def __init__(self, environment: HostEnvironment) -> None:
        self._env = environment
        self._fio_pid: int | None = None

    def prepare(self) -> Mapping[str, str]:
        return {"host_caches_dropped": drop_host_caches()}

    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        resources = self._env.context.resources
        registered = []

        def remember(pid: int) -> None:
            self._fio_pid = pid
            # fio runs in its own session: if iocompare is killed, the next start stops it.
            registered.append(resources.add_process(pid, note="fio"))

        try:
            return run_fio_in(
                self._env.scratch, self._env.context.fio.path, job_text, timeout_s=timeout_s, on_start=remember
            )
        finally:
            self._fio_pid = None
            for resource in registered:
                resources.discard(resource)

    def pids_to_monitor(self) -> Sequence[int]:
        return (self._fio_pid,) if self._fio_pid else ()


class HostEnvironment(Environment):
    kind = "host"
    description = "fio directly on the host, in a scratch directory of the target filesystem"

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        # The twin is the same host with its own working set: an A/A comparison (host against
        # host:twin) calibrates how many verdicts noise alone produces.
        return ((None, cls.description), ("twin", "a second, identical host environment, for A/A calibration"))

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        # On a raw block device the device itself is the working set; job files go to /tmp.
        self.block_device = is_block_device(context.target)
        base = Path(tempfile.gettempdir()) if self.block_device else context.target
        self.scratch = base / f"iocompare-{context.run_tag}" / name.replace(":", "-")
        self._facts: dict[str, str] | None = None
        self._laid_out: set[int] = set()
        # The twin keeps its own file on purpose: host against host:twin calibrates placement.
        self.shares_working_set = (
            context.working_sets.enabled and not self.block_device and name.partition(":")[2] != "twin"
        )

    @property
    def host_storage_path(self) -> Path:
        if self.scratch.exists():
            return self.scratch
        return self.scratch.parent.parent if self.block_device else self.context.target

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        if self.block_device:
            return ()  # the device is overwritten in place; nothing grows on a filesystem
        if self.shares_working_set:
            shared = self.context.working_sets.path(self.context.run_dir, working_set_bytes)
            return (SpaceNeed(self.context.target, working_set_bytes, "shared working set", shared_as=shared),)
        return super().space_needs(working_set_bytes)

    def setup(self) -> None:
        check_target(self.context.target)
        # Registered before creation: a kill between the two must not leak the directory.
        self._registered = [
            self.context.resources.add_path(self.scratch.parent, note="run scratch directory"),
            self.context.resources.add_path(self.scratch, note=f"{self.name} scratch directory"),
        ]
        self.scratch.mkdir(parents=True, exist_ok=True)
        if self.shares_working_set:
            self.context.working_sets.acquire(self.name, self.context.run_dir, self.context.resources)

    def teardown(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.shares_working_set:
            self.context.working_sets.release(self.name, self.context.run_dir, self.context.resources)
        try:
            self.scratch.parent.rmdir()  # the run's directory, once no environment uses it
        except OSError:
            pass
        for resource in getattr(self, "_registered", ()):
            if not Path(resource.ident).exists():
                self.context.resources.discard(resource)

    def crossover_unreachable(self) -> str | None:
        if self.block_device:
            return f"the target {self.context.target} is a block device: the device itself is the working set"
        return None  # the host reaches any path

    def working_set_path(self, size_bytes: int) -> str:
        if self.crossover_file is not None:
            return str(self.crossover_file)
        if self.block_device:
            return str(self.context.target)
        if self.shares_working_set:
            return str(self.context.working_sets.path(self.context.run_dir, size_bytes))
        return str(self.scratch / f"working-set-{short_size(size_bytes)}.dat")

    def working_set_facts(self, size_bytes: int) -> Mapping[str, str]:
        if self.crossover_file is not None:
            return working_set_facts(self.crossover_file)
        if self.block_device:
            return {}
        users = self.context.working_sets.users() if self.shares_working_set else ()
        return working_set_facts(Path(self.working_set_path(size_bytes)), users)

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        if self.crossover_file is not None:
            return  # laid out by the cross-over diagnosis
        if self.shares_working_set:
            self.context.working_sets.ensure(
                self.context.run_dir,
                size_bytes,
                lambda path: lay_out_on_host(
                    self.scratch, self.context.fio.path, path, size_bytes, timeout_s=timeout_s
                ),
            )
            return
        path = Path(self.working_set_path(size_bytes))
        if size_bytes in self._laid_out or (
            not self.block_device and path.exists() and path.stat().st_size == size_bytes
        ):
            return
        fio_run = run_fio_in(
            self.scratch,
            self.context.fio.path,
            render_layout_job(filename=str(path), size_bytes=size_bytes),
            timeout_s=timeout_s,
        )
        if fio_run.exit_code != 0:
            if not self.block_device:
                path.unlink(missing_ok=True)
            raise ToolError(
                f"laying out the working set {path} failed:\n"
                + describe_failure(fio_run.argv, fio_run.exit_code, fio_run.stderr)
            )
        self._laid_out.add(size_bytes)

    def instance(self) -> Instance:
        return HostInstance(self)

    def facts(self) -> Mapping[str, str]:
        if self._facts is None:
            self._facts = {
                "kind": self.kind,
                "fio_version": self.context.fio.version,
                "fio_path": self.context.fio.path,
                **clock_facts(),
                **(
                    device_facts(self.context.target)
                    if self.block_device
                    else storage_facts(self.scratch if self.scratch.exists() else self.context.target)
                ),
            }
        return self._facts

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        return (CacheLayer("host page cache", psutil.virtual_memory().total, bypassed=direct),)
