"""The environment's half of a network trial: an iperf3 or sockperf server started in the
background, ready once it says it listens, registered in the run's manifest, killed afterwards."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence

from iocompare.errors import ToolError
from iocompare.system.proc import kill_tree
from iocompare.system.resources import Resource, RunResources

READY_TIMEOUT_S = 60.0  # a container start or a guest's init can take a while on a loaded machine
# What each server prints once its socket listens (iperf3 with --forceflush; sockperf flushes).
READY_MARKERS = {"iperf3": "Server listening", "sockperf": "Warmup stage"}


class ServerProcess:
    """One server for one trial. `argv` is the full host command (an `ip netns exec` or a
    `podman run` prefix included); `load` names the tool whose ready line is awaited."""

    def __init__(self, argv: Sequence[str], load: str, resources: RunResources) -> None:
        self.argv = tuple(argv)
        self._marker = READY_MARKERS[load]
        self._resources = resources
        self._lines: list[str] = []
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._resource: Resource | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def output(self) -> str:
        return "".join(self._lines)

    def start(self) -> None:
        try:
            self._process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            raise ToolError(f"cannot start {self.argv[0]}: {exc}") from None
        self._resource = self._resources.add_process(self._process.pid, note="network load server")
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                what = "exited" if self._process.returncode is not None else "did not get ready"
                raise ToolError(f"network server {what}: {' '.join(self.argv)}; output: {self.output()[-500:]}")
        # Registered again now that `ip netns exec` has become the server: recovery after a SIGKILL
        # kills a process only when its executable is still the one recorded.
        if self._resource is not None:
            self._resources.discard(self._resource)
        self._resource = self._resources.add_process(self._process.pid, note="network load server")

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.append(line)
            if self._marker in line:
                self._ready.set()

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            kill_tree(self._process.pid)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if self._resource is not None:
            self._resources.discard(self._resource)
            self._resource = None
