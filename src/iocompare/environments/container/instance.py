"""One fresh container for one trial: started, used through `exec`, removed on every exit path."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, Self

from iocompare.engines.fio_argv import fio_argv
from iocompare.engines.fio_job import render_layout_job
from iocompare.environments.base import Instance, InstanceLedger
from iocompare.environments.container.cgroup import Cgroup, cgroup_of, process_roots
from iocompare.environments.container.engine import Engine
from iocompare.environments.container.image import FIO_IN_IMAGE
from iocompare.environments.container.labels import owner_labels
from iocompare.environments.host import drop_host_caches
from iocompare.errors import IocompareError, ToolError
from iocompare.model import FioRun
from iocompare.system.proc import describe_failure, run
from iocompare.system.resources import Resource, RunResources

TARGET_IN_CONTAINER = "/data"  # where the storage under test is mounted
WORK_IN_CONTAINER = "/iocompare"  # bind mount holding job files and fio's output
LAYOUT_MIN_BPS = 20 << 20  # as the runner: a layout slower than 20 MiB/s is treated as hung
LAYOUT_SLACK_S = 120


class ContainerHost(Protocol):
    """What one container needs from its environment (ContainerEnvironment provides it)."""

    @property
    def name(self) -> str: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def resources(self) -> RunResources: ...

    @property
    def run_tag(self) -> str: ...

    @property
    def slug(self) -> str: ...

    @property
    def image_name(self) -> str: ...

    @property
    def work_dir(self) -> Path: ...

    @property
    def working_set_bytes(self) -> int | None: ...

    @property
    def per_trial_layout(self) -> bool: ...

    def storage_args(self) -> list[str]: ...

    def working_set_path(self, size_bytes: int) -> str: ...


class ContainerInstance(Instance):
    def __init__(self, environment: ContainerHost, *, ledger: InstanceLedger[ContainerInstance]) -> None:
        self._env = environment
        self._ledger = ledger
        self.name: str | None = None
        self.index = 0
        self.pid: int | None = None
        self.start_s: float | None = None
        self._cgroup: Cgroup | None = None
        self._cpu_s: float | None = None
        self._resource: Resource | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        env = self._env
        engine = env.engine
        self.index = self._ledger.register(self)
        self.name = f"iocompare-{env.run_tag}-{env.slug}-{self.index}"
        # --stop-timeout 0: `sleep` as PID 1 ignores SIGTERM; any `rm -f` (ours, or crash recovery
        # from the run manifest) kills at once instead of waiting podman's 10 s.
        argv = [
            "run", "-d", "--name", self.name, *owner_labels(env.run_tag), "--network=none",
            "--stop-timeout=0", *engine.run_args(), "-v", f"{env.work_dir}:{WORK_IN_CONTAINER}",
            *env.storage_args(), env.image_name, "/bin/sleep", "infinity",
        ]  # fmt: skip
        # Registered before creation: a SIGKILL between the two must not leak the container.
        self._resource = env.resources.add(
            "container", self.name, engine=engine.name, note=f"{env.name} trial container"
        )
        started = time.monotonic()
        try:
            engine.call(*argv)
            self.pid = int(engine.call("inspect", "--format", "{{.State.Pid}}", self.name).stdout.strip())
        except BaseException:
            self._remove()  # also on Ctrl-C: the engine may have created it before we were stopped
            raise
        self.start_s = time.monotonic() - started
        self._cgroup = cgroup_of(self.pid) if self.pid else None
        return self

    def __exit__(self, *exc: object) -> None:
        self._remove()

    def _remove(self) -> None:
        if self.name is None or self.index not in self._ledger:
            return
        engine = self._env.engine
        try:
            engine.call(*engine.remove_container_args(self.name), check=False, timeout_s=60)
        except IocompareError:
            return  # left in the ledger: the environment's teardown tries again
        self._ledger.release(self.index)
        if self._resource is not None:
            self._env.resources.discard(self._resource)
        for path in (self._job_file(), self._output_file()):
            path.unlink(missing_ok=True)

    # -- inside the container --------------------------------------------------------------

    def _job_file(self) -> Path:
        return self._env.work_dir / f"job-{self.index}.fio"

    def _output_file(self) -> Path:
        return self._env.work_dir / f"out-{self.index}.json"

    def exec_text(self, command: Sequence[str], *, timeout_s: float = 60) -> str:
        assert self.name is not None
        return self._env.engine.call("exec", self.name, *command, timeout_s=timeout_s).stdout

    def _exec_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        assert self.name is not None
        job, output = self._job_file(), self._output_file()
        job.write_text(job_text)
        output.unlink(missing_ok=True)
        in_container = fio_argv(
            FIO_IN_IMAGE, output=f"{WORK_IN_CONTAINER}/{output.name}", job=f"{WORK_IN_CONTAINER}/{job.name}"
        )
        argv = self._env.engine.argv("exec", self.name, *in_container)
        done = run(argv, timeout_s=timeout_s, check=False)
        text = output.read_text() if output.exists() else ""
        return FioRun(done.argv, done.exit_code, text, done.stderr, done.wall_s)

    def lay_out(self, size_bytes: int, *, timeout_s: float) -> None:
        """Write the working-set file once (sequential, end_fsync), as the host environment does."""
        path = self._env.working_set_path(size_bytes)
        fio_run = self._exec_fio(render_layout_job(filename=path, size_bytes=size_bytes), timeout_s=timeout_s)
        if fio_run.exit_code != 0:
            self._env.engine.call("exec", self.name or "", "/bin/rm", "-f", path, check=False)
            raise ToolError(
                f"laying out the working set {path} in {self.name} failed:\n"
                + describe_failure(fio_run.argv, fio_run.exit_code, fio_run.stderr)
            )

    # -- the Instance interface ------------------------------------------------------------

    def prepare(self) -> Mapping[str, str]:
        facts = {"container": self.name or "", "container_start_s": f"{self.start_s or 0:.3f}"}
        size = self._env.working_set_bytes
        if self._env.per_trial_layout and size:
            # The container's storage dies with it: lay out in this fresh one, outside the measurement.
            self.lay_out(size, timeout_s=LAYOUT_SLACK_S + size / LAYOUT_MIN_BPS)
            facts["working_set_laid_out_per_trial"] = "yes"
        # One kernel, one page cache: the host's drop covers the container too.
        facts["host_caches_dropped"] = drop_host_caches()
        return facts

    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        before = self._cgroup.cpu_usage_s() if self._cgroup else None
        try:
            return self._exec_fio(job_text, timeout_s=timeout_s)
        finally:
            after = self._cgroup.cpu_usage_s() if self._cgroup else None
            self._cpu_s = after - before if before is not None and after is not None else None

    def pids_to_monitor(self) -> Sequence[int]:
        # fio started with exec is not a descendant of the container's PID 1 on the host, but it
        # is in the container's cgroup: monitor every process tree rooted there.
        if self._cgroup is not None:
            roots = process_roots(self._cgroup.procs())
            if roots:
                return roots
        return (self.pid,) if self.pid else ()

    def abort(self) -> None:
        """Stop fio now (called from the monitor thread): killing the container ends the exec."""
        if self.name is not None:
            self._env.engine.call("kill", self.name, check=False, timeout_s=30)

    def after_run_facts(self) -> Mapping[str, str]:
        facts = {}
        if self._cgroup is not None:
            facts["container_cgroup"] = str(self._cgroup.directory)
        if self._cpu_s is not None:
            facts["container_cgroup_cpu_s"] = f"{self._cpu_s:.3f}"
        return facts
