"""fio's own distributed mode, from the client side: the command line that sends a job to one or
more `fio --server` hosts, the server's version from its greeting, and one host's share of a
multi-client json+ document (fio lists every job of every client in `client_stats`, plus an
"All clients" aggregate when several ran)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iocompare.errors import UserError

DEFAULT_PORT = 8765  # fio's own default (fio --server)
# The greeting fio prints per server on connecting:
#   hostname=node-b, be=0, 64-bit, os=Linux, arch=x86-64, fio=fio-3.33, flags=1
_GREETING = re.compile(r"^hostname=(?P<name>[^,]*),.*\bfio=(?P<version>[^,\s]+)", re.MULTILINE)
# A probe job that touches no storage: it only makes the server answer with its greeting.
PROBE_JOB = "[iocompare-probe]\nioengine=null\nsize=4k\nrw=read\n"
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


@dataclass(frozen=True)
class Server:
    host: str  # an IPv4 address or a host name
    port: int = DEFAULT_PORT

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def client_option(self) -> str:
        """fio's spelling: `ip:ADDR,PORT` (a comma before the port, so IPv6 could have colons)."""
        return f"--client=ip:{self.host},{self.port}"

    @property
    def slug(self) -> str:
        """For file names on the server: no ':' (fio's separator of several files in `filename`)."""
        return f"{self.host.replace('.', '-')}-{self.port}"


def parse_server(text: str, what: str = "--env remote") -> Server:
    host, _, port_text = text.partition(":")
    if not _HOST.match(host):
        raise UserError(f"{what}:{text}: {host!r} is not a host name or IPv4 address", hint="remote:HOST[:PORT]")
    if not port_text:
        return Server(host)
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UserError(f"{what}:{text}: port {port_text!r} is not a number from 1 to 65535", hint="remote:HOST[:PORT]")
    return Server(host, int(port_text))


def client_argv(fio: str, servers: Sequence[Server], *, output: str, job: str) -> list[str]:
    """Each server gets the same job file; json+ (histogram bins) goes to a file, as locally."""
    argv = [fio, "--output-format=json+", f"--output={output}"]
    for server in servers:
        argv += [server.client_option, job]
    return argv


def greeting_version(text: str) -> str | None:
    """The server's fio version from the client's console output, None when it never greeted."""
    match = _GREETING.search(text)
    return match.group("version") if match else None


def per_host_documents(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """'ADDR:PORT' -> a document of that client's jobs alone, parseable like a one-client run."""
    out: dict[str, dict[str, Any]] = {}
    entries = document.get("client_stats")
    if not isinstance(entries, list):
        return out
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("jobname") == "All clients":
            continue
        key = f"{entry.get('hostname', '?')}:{entry.get('port', '?')}"
        part = out.setdefault(key, {**document, "client_stats": []})
        part["client_stats"].append(entry)
    return out
