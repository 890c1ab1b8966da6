"""One boot of a microVM guest (QEMU or Firecracker), for one trial or for the in-guest layout.

The guest is started in `__enter__` and waits, idle, for commands; the monitor therefore starts
after the boot, and a trial's CPU figures are those of the fio run alone.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from iocompare.engines.fio_argv import fio_argv
from iocompare.environments.base import Instance, InstanceLedger
from iocompare.environments.host import drop_host_caches
from iocompare.environments.microvm.guest_init import GUEST_FIO_JOB, GUEST_FIO_OUTPUT, GUEST_FIO_PATH, GUEST_MOUNT_POINT
from iocompare.environments.microvm.session import (
    GuestSession,
    cpu_delta,
    create_control_disk,
    read_result,
    thread_cpu_seconds,
    write_job,
)
from iocompare.errors import ToolError
from iocompare.facts.probe import clock_facts
from iocompare.model import FioRun
from iocompare.system.resources import Resource, RunResources

COMMAND_TIMEOUT_S = 120


def guest_clock_facts(ready: Mapping[str, str]) -> dict[str, str]:
    """The guest kernel's clock from its ready line: fio in the guest is timed with it."""
    facts = {"host_clocksource": clock_facts().get("clocksource", "")}
    if ready.get("clocksource"):
        facts["clocksource"] = ready["clocksource"]
    if ready.get("clocksources"):
        facts["clocksources_available"] = ready["clocksources"]
    return {k: v for k, v in facts.items() if v}


def clock_after_run(details: str, ready: Mapping[str, str]) -> dict[str, str]:
    """The guest's clocksource when fio ended (`run done <rc> clocksource=<name>`): the kernel may
    have switched away from an unstable TSC since boot, and the later clock is the one fio used."""
    after = next((word.split("=", 1)[1] for word in details.split() if word.startswith("clocksource=")), "")
    if not after:
        return {}
    facts = {"clocksource": after}
    if ready.get("clocksource") and ready["clocksource"] != after:
        facts["clocksource_at_boot"] = ready["clocksource"]
    return facts


class GuestHost(Protocol):
    """What one boot needs from its environment (MicroVMEnvironment, for QEMU or Firecracker)."""

    @property
    def vmm_label(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def resources(self) -> RunResources: ...

    @property
    def boot_timeout_s(self) -> float: ...

    @property
    def mounts_in_guest(self) -> bool: ...

    def vmm_argv(self, directory: Path, control: Path) -> list[str]: ...

    def is_vcpu_thread(self, name: str) -> bool: ...


class MicroVMInstance(Instance):
    """One boot of the guest, for one trial (or for laying out the in-guest filesystem)."""

    def __init__(
        self,
        environment: GuestHost,
        *,
        scratch: Path,
        ledger: InstanceLedger[MicroVMInstance],
        purpose: str = "trial",
    ) -> None:
        self._env = environment
        self._scratch = scratch
        self._ledger = ledger
        self._index = 0
        self._purpose = purpose
        self.session: GuestSession | None = None
        self.boot_to_ready_s: float | None = None
        self.ready: dict[str, str] = {}
        self.mount_line = ""
        self._trial_facts: dict[str, str] = {}
        self._registered: list[Resource] = []

    def __enter__(self) -> MicroVMInstance:
        env = self._env
        self._index = self._ledger.register(self)
        self.directory = self._scratch / f"vm-{self._index}"
        try:
            self.directory.mkdir(parents=True)
            self.control = self.directory / "control.img"
            create_control_disk(self.control)
            argv = env.vmm_argv(self.directory, self.control)
            self.session = GuestSession(argv, console_log=self.directory / "console.log", label=env.vmm_label)
            pid = self.session.start()
            self._registered.append(env.resources.add_process(pid, note=f"{env.name} VMM"))
            args = self.session.wait_for(
                "ready", timeout_s=env.boot_timeout_s, what="while booting (no ready marker from the guest)"
            )
            self.boot_to_ready_s = time.monotonic() - self.session.started_at
            self.ready = dict(item.split("=", 1) for item in args.split() if "=" in item)
            if env.mounts_in_guest and self._purpose == "trial":
                self.mount()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the VM and remove its files; idempotent, also after a failure or Ctrl-C."""
        if self.session is not None:
            self.session.stop(graceful_s=3.0)
        for resource in self._registered:
            self._env.resources.discard(resource)
        self._registered.clear()
        if hasattr(self, "directory"):
            shutil.rmtree(self.directory, ignore_errors=True)
        self._ledger.release(self._index)

    def _session(self) -> GuestSession:
        if self.session is None or not self.session.alive():
            raise ToolError(f"{self._env.name}: the VM is not running")
        return self.session

    def _command(self, line: str, what: str, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
        ok, details = self._session().command(line, timeout_s=timeout_s)
        if not ok:
            raise self._session().failure(f"{self._env.name}: {what} failed in the guest: {details}")
        return details

    def mkfs(self) -> None:
        self._command("mkfs", "mke2fs -t ext4")

    def mount(self) -> None:
        self.mount_line = self._command("mount", f"mounting ext4 on {GUEST_MOUNT_POINT}")

    def prepare(self) -> Mapping[str, str]:
        # The guest first: its sync pushes dirty pages down to the VMM, then the host drops its own.
        ok, details = self._session().command("drop", timeout_s=COMMAND_TIMEOUT_S)
        facts = {
            "boot_to_ready_s": f"{self.boot_to_ready_s:.2f}",
            "guest_caches_dropped": "yes" if ok else f"no ({details})",
            "host_caches_dropped": drop_host_caches(),
        }
        if "disk" in self.ready:
            facts["guest_target_disk"] = f"/dev/{self.ready['disk']}"  # as the guest kernel named it
        if "lbs" in self.ready:
            facts["guest_logical_block_size"] = self.ready["lbs"]
        if "mem_kib" in self.ready:
            facts["guest_memtotal_kib"] = self.ready["mem_kib"]
        facts.update(guest_clock_facts(self.ready))
        if self.mount_line:
            fields = self.mount_line.split()
            if len(fields) >= 4:
                facts["guest_fs_type"], facts["guest_mount_options"] = fields[2], fields[3]
        return facts

    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        session = self._session()
        write_job(self.control, job_text)
        pid = session.pid
        assert pid is not None
        before = thread_cpu_seconds(pid)
        started = time.monotonic()
        _ok, details = session.command("run", timeout_s=timeout_s)
        wall_s = time.monotonic() - started
        self._trial_facts = cpu_delta(before, thread_cpu_seconds(pid), self._env.is_vcpu_thread)
        self._trial_facts.update(clock_after_run(details, self.ready))
        files = read_result(self.control)
        try:
            exit_code = int(files.get("rc", "").strip())
        except ValueError:
            raise session.failure(f"{self._env.name}: the guest returned no fio exit code ({details})") from None
        # what the guest's init runs (guest_init.py), named after the VMM it ran under
        argv = tuple(
            fio_argv(f"{self._env.vmm_label}-guest:{GUEST_FIO_PATH}", output=GUEST_FIO_OUTPUT, job=GUEST_FIO_JOB)
        )
        stderr = files.get("stderr.txt", "")
        return FioRun(argv, exit_code, files.get("out.json", ""), stderr, wall_s)

    def pids_to_monitor(self) -> Sequence[int]:
        session = self.session
        return (session.pid,) if session is not None and session.pid and session.alive() else ()

    def abort(self) -> None:
        if self.session is not None:
            self.session.kill()

    def after_run_facts(self) -> Mapping[str, str]:
        """Host CPU of the VMM during fio, vCPU threads separately (read after run_fio)."""
        return dict(self._trial_facts)
