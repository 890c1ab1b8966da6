"""`iocompare doctor`'s Firecracker path against the API specification (../shared/contracts, or the
copy in tests/fixtures), as the backend's own contract tests do. Firecracker cannot run here (it
needs real KVM), so a stand-in serves the API on a Unix socket: its answers are validated against
the spec's definitions (so it cannot drift from the real API), and every request the doctor makes
is validated against the spec's body schemas, with unknown fields refused."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from test_firecracker_contract import body_schema, spec, validate  # noqa: F401  (spec is a fixture)

from iocompare.doctor import firecracker as doc
from iocompare.doctor.steps import Outcome
from iocompare.environments.microvm.image import GuestImage

FAKE = r'''#!{python}
"""A stand-in for the firecracker binary: --version, and the API on --api-sock."""
import json, os, socketserver, sys
from http.server import BaseHTTPRequestHandler

VERSION = os.environ.get("FAKE_FC_VERSION", "1.10.1")
if "--version" in sys.argv:
    print(f"Firecracker v{{VERSION}}")
    print("")
    sys.exit(0)
sock = sys.argv[sys.argv.index("--api-sock") + 1]
instance_id = sys.argv[sys.argv.index("--id") + 1]
log = open(os.environ["FAKE_FC_LOG"], "a")

class Handler(BaseHTTPRequestHandler):
    def address_string(self):
        return "unix"
    def log_message(self, *args):
        pass
    def _reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        info = {{"app_name": "Firecracker", "id": instance_id, "state": "Not started", "vmm_version": VERSION}}
        log.write(json.dumps({{"method": "GET", "path": self.path, "response": info}}) + "\n"); log.flush()
        self._reply(200, info) if self.path == "/" else self._reply(400, {{"fault_message": "Invalid request"}})
    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        log.write(json.dumps({{"method": "PUT", "path": self.path, "body": body}}) + "\n"); log.flush()
        if self.path == "/boot-source":
            for key in ("kernel_image_path", "initrd_path"):
                if key in body and not os.path.isfile(body[key]):
                    return self._reply(400, {{"fault_message": f"Cannot open {{body[key]}}"}})
        self._reply(204)

class Server(socketserver.UnixStreamServer):
    pass

Server(sock, Handler).serve_forever()
'''


@pytest.fixture
def fake_firecracker(tmp_path, monkeypatch) -> tuple[Path, Path]:
    binary = tmp_path / "firecracker"
    binary.write_text(FAKE.format(python=sys.executable))
    binary.chmod(0o755)
    log = tmp_path / "requests.jsonl"
    monkeypatch.setenv("FAKE_FC_LOG", str(log))
    doc.fc.firecracker_version.cache_clear()
    return binary, log


@pytest.fixture
def guest(tmp_path) -> GuestImage:
    directory = tmp_path / "guest" / "abc"
    directory.mkdir(parents=True)
    (directory / "vmlinux").write_bytes(b"\x7fELF")
    (directory / "initramfs.cpio").write_bytes(b"070701")
    return GuestImage(directory, {"hash": "abcdef0123456789"})


def requests_of(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_api_step_sends_the_runs_configuration_and_every_exchange_is_in_the_spec(spec, fake_firecracker, guest):  # noqa: F811
    binary, log = fake_firecracker
    step = doc.api_step(str(binary), guest)
    assert step.outcome is Outcome.OK, step
    assert "Firecracker 1.10.1 (Not started)" in step.detail
    exchanges = requests_of(log)
    assert [(e["method"], e["path"]) for e in exchanges] == [
        ("GET", "/"),
        ("PUT", "/machine-config"),
        ("PUT", "/boot-source"),
    ]
    validate(spec, {"$ref": "#/definitions/InstanceInfo"}, exchanges[0]["response"])  # the stand-in is honest
    for e in exchanges[1:]:
        validate(spec, body_schema(spec, e["method"], e["path"]), e["body"])
    assert exchanges[2]["body"]["kernel_image_path"] == str(guest.vmlinux)
    assert exchanges[2]["body"]["initrd_path"] == str(guest.initramfs)


def test_api_step_reports_the_apis_fault_with_what_to_do(fake_firecracker, guest):
    binary, _ = fake_firecracker
    guest.vmlinux.unlink()
    step = doc.api_step(str(binary), guest)
    assert step.outcome is Outcome.FAILED
    assert "PUT /boot-source answered 400: Cannot open" in step.detail and step.fix


def test_api_step_when_no_socket_appears(tmp_path, guest):
    silent = tmp_path / "firecracker"
    silent.write_text("#!/bin/sh\necho 'Error: no KVM here' >&2\nexit 1\n")
    silent.chmod(0o755)
    step = doc.api_step(str(silent), guest)
    assert step.outcome is Outcome.FAILED and "no API socket" in step.detail and "no KVM here" in step.detail


def test_binary_step_finds_the_version_and_refuses_old_ones(fake_firecracker, monkeypatch):
    binary, _ = fake_firecracker
    step, path = doc.binary_step(str(binary))
    assert step.outcome is Outcome.OK and path == str(binary) and "Firecracker v1.10.1" in step.detail
    monkeypatch.setenv("FAKE_FC_VERSION", "1.7.0")
    doc.fc.firecracker_version.cache_clear()
    step, path = doc.binary_step(str(binary))
    assert step.outcome is Outcome.FAILED and path is None and "older than 1.8" in step.detail
    step, path = doc.binary_step(str(binary.parent / "missing"))
    assert step.outcome is Outcome.FAILED and "not found" in step.detail and doc.fc.BINARY_ENV in (step.fix or "")


def test_kvm_step_names_what_is_wrong(tmp_path):
    missing = doc.kvm_step(str(tmp_path / "kvm"))
    assert missing.outcome is Outcome.FAILED and "does not exist" in missing.detail and missing.fix
    not_kvm = tmp_path / "not-kvm"
    not_kvm.write_text("")
    step = doc.kvm_step(str(not_kvm))
    assert step.outcome is Outcome.FAILED and "does not answer KVM_GET_API_VERSION" in step.detail


def test_image_step_needs_the_elf_vmlinux(guest):
    assert doc.image_step(guest).outcome is Outcome.OK
    assert doc.image_step(None).outcome is Outcome.FAILED
    guest.vmlinux.unlink()
    step = doc.image_step(guest)
    assert step.outcome is Outcome.FAILED and "no ELF vmlinux" in step.detail and "--force" in (step.fix or "")


def test_steps_skip_the_socket_without_a_binary(monkeypatch, guest, tmp_path):
    monkeypatch.setenv(doc.fc.BINARY_ENV, str(tmp_path / "absent"))
    monkeypatch.setattr(doc, "find_image", lambda: guest)
    steps = {s.name: s for s in doc.firecracker_steps()}
    assert steps["binary"].outcome is Outcome.FAILED
    assert steps["guest image"].outcome is Outcome.OK
    assert steps["api socket"].outcome is Outcome.SKIPPED  # never counted as passed
    assert os.path.exists("/dev/kvm") or steps["kvm"].outcome is Outcome.FAILED
