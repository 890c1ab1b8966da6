"""What `iocompare doctor` checks before a Firecracker run, step by step, each with what to do:
the binary and its version, /dev/kvm (present, accessible, answers the KVM API, can create a VM),
the guest image (an ELF vmlinux beside the initramfs), and the API socket: a Firecracker started
with `--api-sock` answers `GET /` and accepts the very `PUT /machine-config` and
`PUT /boot-source` bodies a run sends (Firecracker opens the kernel and initrd on that call), so
the configuration is proven without booting. The request and response shapes are those of the
API specification (tests/unit/test_doctor_firecracker.py checks them against it)."""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iocompare.doctor.steps import Step
from iocompare.environments.microvm import firecracker as fc
from iocompare.environments.microvm.image import GuestImage, find_image
from iocompare.errors import IocompareError

KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO, 0x00)
KVM_CREATE_VM = 0xAE01  # _IO(KVMIO, 0x01)
KVM_API_VERSION = 12  # stable since Linux 2.6.22
SOCKET_WAIT_S = 5.0
REQUEST_TIMEOUT_S = 5.0
FIX_BINARY = (
    f"install Firecracker {fc.MIN_VERSION[0]}.{fc.MIN_VERSION[1]} or newer (a release binary) and put it on PATH, "
    f"or set {fc.BINARY_ENV}=/path/to/firecracker"
)


def binary_step(binary: str) -> tuple[Step, str | None]:
    """(step, resolved path or None)."""
    path = shutil.which(binary)
    if path is None:
        return Step.fail("binary", f"{binary} not found on PATH", FIX_BINARY), None
    try:
        text = fc.firecracker_version(path)
    except IocompareError as exc:
        return Step.fail("binary", f"{path} --version failed: {exc.one_line()}", FIX_BINARY), None
    version = fc.parse_version(text)
    if version is None or version < fc.MIN_VERSION:
        return Step.fail(
            "binary", f"{path} is {text!r}, older than {fc.MIN_VERSION[0]}.{fc.MIN_VERSION[1]}", FIX_BINARY
        ), None
    return Step.ok("binary", f"{path}: {text}"), path


def kvm_step(device: str = fc.KVM_DEVICE) -> Step:
    """/dev/kvm usable: it opens read-write, speaks KVM API 12 and creates a VM (closed at once)."""
    fix_access = "load the kvm module (modprobe kvm_intel or kvm_amd) and give this user rw on /dev/kvm (group kvm)"
    if not os.path.exists(device):
        return Step.fail(
            "kvm", f"{device} does not exist", "enable virtualisation (VT-x/AMD-V; nested on a VM) and " + fix_access
        )
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return Step.fail("kvm", f"{device} cannot be opened read-write: {exc.strerror}", fix_access)
    try:
        try:
            version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
        except OSError as exc:
            return Step.fail("kvm", f"{device} does not answer KVM_GET_API_VERSION: {exc.strerror}", fix_access)
        if version != KVM_API_VERSION:
            return Step.fail(
                "kvm", f"{device} speaks KVM API {version}, not {KVM_API_VERSION}", "use a Linux kernel with KVM"
            )
        try:
            vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
        except OSError as exc:
            return Step.fail("kvm", f"KVM_CREATE_VM failed: {exc.strerror}", "check dmesg for KVM errors")
        os.close(vm)
    finally:
        os.close(fd)
    return Step.ok(
        "kvm", f"{device}: KVM API {version}, a VM can be created (whether a guest boots is the 1 s fio's test)"
    )


def image_step(image: GuestImage | None) -> Step:
    fix = "iocompare image build --kind guest"
    if image is None:
        return Step.fail("guest image", "no guest image is built", fix)
    if not image.vmlinux.is_file():
        return Step.fail("guest image", f"image {image.content_hash[:12]} has no ELF vmlinux", fix + " --force")
    if not image.initramfs.is_file():
        return Step.fail("guest image", f"image {image.content_hash[:12]} has no initramfs", fix + " --force")
    return Step.ok("guest image", f"{image.content_hash[:12]}: ELF vmlinux {image.vmlinux.name} and initramfs")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over Firecracker's Unix socket (the API's only transport)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=REQUEST_TIMEOUT_S)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(REQUEST_TIMEOUT_S)
        sock.connect(self._path)
        self.sock = sock


def api_call(path: str, method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body or None) of one API request."""
    connection = _UnixConnection(path)
    try:
        payload = None if body is None else json.dumps(body)
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, url, body=payload, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        try:
            decoded = json.loads(text) if text.strip() else None
        except ValueError:
            decoded = text
        return response.status, decoded
    finally:
        connection.close()


def fault(body: Any) -> str:
    """The API's error text (Error.fault_message), or the body as it came."""
    if isinstance(body, dict) and "fault_message" in body:
        return str(body["fault_message"])
    return str(body)


@contextmanager
def api_server(binary: str, directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Firecracker serving its API on a socket in `directory`; killed and reaped on exit."""
    sock = directory / "api.sock"
    log = (directory / "firecracker.log").open("wb")
    process = subprocess.Popen(
        [binary, "--api-sock", str(sock), "--id", "iocompare-doctor"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield str(sock), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        log.close()


def _wait_for_socket(path: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + SOCKET_WAIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if os.path.exists(path):
            return True
        time.sleep(0.05)
    return False


def api_step(binary: str, image: GuestImage, *, memory_mib: int = 512, vcpus: int = 2) -> Step:
    """Start Firecracker with an API socket, ask it what it is, and hand it a run's machine and
    boot configuration (not started: that needs KVM and is the 1 s fio's job)."""
    with tempfile.TemporaryDirectory(prefix="iocompare-doctor-fc-") as temp:
        directory = Path(temp)
        config = fc.firecracker_config(
            kernel=image.vmlinux,
            initrd=image.initramfs,
            target=directory / "none.img",
            control=directory / "none-control.img",
            memory_mib=memory_mib,
            vcpus=vcpus,
            cache="unsafe",
            io_engine="sync",
        )
        with api_server(binary, directory) as (sock, process):
            if not _wait_for_socket(sock, process):
                log = (directory / "firecracker.log").read_text("utf-8", "replace").strip().splitlines()
                said = log[-1] if log else "no output"
                return Step.fail(
                    "api socket",
                    f"no API socket within {SOCKET_WAIT_S:g} s ({said})",
                    "run the binary by hand to see why",
                )
            try:
                status, info = api_call(sock, "GET", "/")
                if status != 200 or not isinstance(info, dict) or "state" not in info:
                    return Step.fail(
                        "api socket", f"GET / answered {status}: {fault(info)}", "use a Firecracker release binary"
                    )
                for method, url, body in fc.api_requests(config):
                    if not url.startswith(("/machine-config", "/boot-source")):
                        continue  # drives need the run's disk images; InstanceStart needs KVM
                    status, answer = api_call(sock, method, url, body)
                    if status != 204:
                        return Step.fail(
                            "api socket",
                            f"{method} {url} answered {status}: {fault(answer)}",
                            "rebuild the guest image or report this",
                        )
            except OSError as exc:
                return Step.fail("api socket", f"the API did not answer: {exc}", "run the binary by hand to see why")
    return Step.ok(
        "api socket",
        f"{info.get('app_name', 'Firecracker')} {info.get('vmm_version', '?')} ({info.get('state')}) accepted "
        "the machine and boot configuration of a run",
    )


def firecracker_steps() -> list[Step]:
    """Every step, in order; a step whose input is missing is skipped (never passed)."""
    steps = []
    binary, path = binary_step(fc.firecracker_binary())
    steps.append(binary)
    steps.append(kvm_step())
    try:
        image = find_image()
    except IocompareError as exc:
        steps.append(Step.fail("guest image", exc.one_line(), "iocompare image build --kind guest --force"))
        image = None
    else:
        steps.append(image_step(image))
    if path is None or image is None or not steps[-1].passed:
        steps.append(Step.skipped("api socket", "needs the binary" if path is None else "needs the guest image"))
    else:
        steps.append(api_step(path, image))
    return steps
