"""Network namespaces the test makes, each running `fio --server` on its own 198.19.x address
and its own loop-backed ext4: stand-ins for remote hosts (issue 15). Everything made here is
removed by `close()`, servers stopped by their own PIDs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PORT = 8765


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


@dataclass
class FioServer:
    index: int
    namespace: str
    veth_host: str
    address: str
    image: Path
    mount: Path
    loop: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> str:
        return f"remote:{self.address}:{PORT}"

    def kill(self) -> None:
        """As if the host went away: the server process dies (by its PID)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)


@dataclass
class FioServers:
    servers: list[FioServer] = field(default_factory=list)

    @classmethod
    def start(cls, count: int, *, subnet: int, size_mb: int = 320, tag: str = "t") -> FioServers:
        made = cls()
        try:
            for index in range(count):
                made.servers.append(_start_one(index, subnet + index, size_mb, f"{tag}{os.getpid() % 10000}"))
        except BaseException:
            made.close()
            raise
        return made

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            with contextlib.suppress(subprocess.SubprocessError):
                subprocess.run(["umount", "-l", str(server.mount)], capture_output=True, timeout=60)
            with contextlib.suppress(OSError):
                server.mount.rmdir()
            if server.loop:
                subprocess.run(["losetup", "-d", server.loop], capture_output=True, timeout=60)
            server.image.unlink(missing_ok=True)
            subprocess.run(["ip", "link", "del", server.veth_host], capture_output=True, timeout=60)
            subprocess.run(["ip", "netns", "del", server.namespace], capture_output=True, timeout=60)
        self.servers.clear()

    def leftovers(self, base: Path = Path("/var/tmp")) -> list[str]:
        return [p.name for p in base.glob("iocompare-*-working-set-*")]


def _start_one(index: int, octet: int, size_mb: int, tag: str) -> FioServer:
    name = f"ioc{tag}n{index}"
    base = Path("/var/tmp")
    server = FioServer(
        index=index,
        namespace=name,
        veth_host=f"ioc{tag}h{index}"[:15],
        address=f"198.19.{octet}.2",
        image=base / f"{name}.img",
        mount=base / f"{name}.mnt",
    )
    sh("ip", "netns", "add", name)
    sh("ip", "link", "add", server.veth_host, "type", "veth", "peer", "name", f"ioc{tag}p{index}"[:15])
    sh("ip", "link", "set", f"ioc{tag}p{index}"[:15], "netns", name)
    sh("ip", "addr", "add", f"198.19.{octet}.1/30", "dev", server.veth_host)
    sh("ip", "link", "set", server.veth_host, "up")
    sh("ip", "-n", name, "addr", "add", f"{server.address}/30", "dev", f"ioc{tag}p{index}"[:15])
    sh("ip", "-n", name, "link", "set", f"ioc{tag}p{index}"[:15], "up")
    sh("ip", "-n", name, "link", "set", "lo", "up")
    with open(server.image, "wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, size_mb << 20)
    server.loop = subprocess.run(
        ["losetup", "--find", "--show", str(server.image)], check=True, capture_output=True, text=True
    ).stdout.strip()
    sh("mkfs.ext4", "-F", "-q", server.loop)
    server.mount.mkdir()
    sh("mount", server.loop, str(server.mount))
    # The one command a user runs on a remote host, in the directory under test (docs/targets-and-hosts.md).
    server.process = subprocess.Popen(
        ["ip", "netns", "exec", name, "fio", f"--server=ip:{server.address},{PORT}"],
        cwd=server.mount,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection((server.address, PORT), timeout=1):
            break
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise RuntimeError(f"fio --server in {name} did not start")
        time.sleep(0.1)
    return server
