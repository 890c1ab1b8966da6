"""Locate iperf3 and sockperf and read their versions: the same builds run on the host, in the
container image and in the guest image, and the versions are checked equal."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from iocompare.errors import ToolError, UserError
from iocompare.system.proc import run

_IPERF3_RE = re.compile(r"iperf (\d+\.\d+\S*)")
_SOCKPERF_RE = re.compile(r"version (\d+\.\d+\S*)")


@dataclass(frozen=True)
class LoadBinary:
    name: str  # "iperf3" | "sockperf"
    path: str
    version: str  # e.g. "3.12", "3.7-no.git"


def parse_iperf3_version(text: str) -> str:
    match = _IPERF3_RE.search(text)
    if not match:
        raise UserError(f"cannot read iperf3's version from {text.strip()[:80]!r}", hint="apt-get install iperf3")
    return match.group(1)


def parse_sockperf_version(text: str) -> str:
    match = _SOCKPERF_RE.search(text)
    if not match:
        raise UserError(f"cannot read sockperf's version from {text.strip()[:80]!r}", hint="apt-get install sockperf")
    return match.group(1)


def find_load(name: str) -> LoadBinary:
    """iperf3 or sockperf on PATH with its version; UserError (exit 2) when it is missing."""
    resolved = shutil.which(name)
    if resolved is None:
        raise UserError(f"{name} not found (not on PATH)", hint=f"apt-get install {name}")
    try:
        done = run([resolved, "--version"], timeout_s=30, check=False)
    except ToolError as exc:
        raise UserError(f"{resolved} is not a usable {name}: {exc.message.splitlines()[0]}") from None
    text = done.stdout + done.stderr
    version = parse_iperf3_version(text) if name == "iperf3" else parse_sockperf_version(text)
    return LoadBinary(name, resolved, version)


def check_same_version(host: LoadBinary, inside_text: str, where: str) -> str:
    """The version an environment's copy prints; ToolError when it is not the host's."""
    inside = parse_iperf3_version(inside_text) if host.name == "iperf3" else parse_sockperf_version(inside_text)
    if inside != host.version:
        raise ToolError(f"{host.name} in {where} is {inside}, the host's is {host.version}: not the same build")
    return inside
