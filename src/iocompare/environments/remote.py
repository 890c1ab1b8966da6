"""Hosts that run `fio --server`: the suite's jobs go there through `fio --client`.

`remote:HOST[:PORT]` is one host; `remote:A+B+C` (what `--all-at-once` makes of several) sends
each trial's job to every listed host at once, fio's multi-client mode. iocompare never starts a
server on another machine: the user runs `fio --server=ip:ADDR,PORT` in a directory of the
filesystem under test there (docs/targets-and-hosts.md); the working-set file lands in that
directory and is unlinked through fio itself at the end of the run.

Without ssh the host's own facts (kernel, filesystem, device, mount options) are not known: they
read "not evaluated", never guessed. What fio reports is recorded: the server's greeting (its
host name and fio version) and, per trial, each host's share of a multi-client run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from iocompare.engines.fio_binary import find_fio
from iocompare.engines.fio_client import (
    PROBE_JOB,
    Server,
    client_argv,
    greeting_version,
    parse_server,
    per_host_documents,
)
from iocompare.engines.fio_job import render_layout_job
from iocompare.engines.fio_parse import decode_document, parse_document
from iocompare.environments.base import CacheLayer, Environment, Instance, RunContext, SpaceNeed
from iocompare.errors import IocompareError, ToolError, UserError
from iocompare.model import FioRun
from iocompare.system.proc import Completed, describe_failure, run, run_many
from iocompare.units import short_size

PROBE_TIMEOUT_S = 20.0
PROBE_CACHE_S = 30.0  # a run asks several times before it starts; the answer holds that long
NO_SSH = "not evaluated: no ssh access to {host} (fio reports only the job and its version)"
FLEET_FACT = "fleet_hosts"  # per trial of a multi-host remote: {"ADDR:PORT": bytes/s, ...} (analysis/fleet.py)
_probes: dict[str, tuple[float, str | None, str | None]] = {}  # address -> (when, version, reason)


def servers_of(variant: str | None) -> tuple[Server, ...]:
    if not variant:
        raise UserError("--env remote needs a host: remote:HOST[:PORT]", hint="e.g. --env remote:198.19.1.2:8765")
    servers = tuple(parse_server(part) for part in variant.split("+"))
    if len({s.address for s in servers}) != len(servers):
        raise UserError(f"--env remote:{variant} names a host twice")
    return servers


def server_command(server: Server) -> str:
    return f"fio --server=ip:{server.host},{server.port}"


def _reason(server: Server, done: Completed) -> str:
    said = (done.stderr or done.stdout).strip().splitlines()
    last = said[-1] if said else f"exit {done.exit_code}"
    return f"the fio server at {server.address} does not answer ({last}); on that host run: {server_command(server)}"


def probe_all(fio: str, servers: Sequence[Server]) -> dict[str, tuple[str | None, str | None]]:
    """address -> (the server's fio version, why it cannot be used), every server asked at the same
    time (a job on fio's null engine, no storage), so the check does not grow with the number of hosts."""
    now = time.monotonic()
    fresh = {a: entry for a, entry in _probes.items() if now - entry[0] < PROBE_CACHE_S}
    asked = [s for s in servers if s.address not in fresh]
    if asked:
        work = Path(tempfile.mkdtemp(prefix="iocompare-probe-"))
        try:
            job = work / "probe.fio"
            job.write_text(PROBE_JOB)
            argvs = [[fio, s.client_option, str(job)] for s in asked]
            try:
                answers = run_many(argvs, timeout_s=PROBE_TIMEOUT_S, cwd=str(work))
                for server, done in zip(asked, answers, strict=True):
                    version = greeting_version(done.stdout)
                    _probes[server.address] = (now, version, None if version else _reason(server, done))
            except ToolError as exc:
                for server in asked:
                    reason = f"the fio server at {server.address} does not answer ({exc.one_line()})"
                    _probes[server.address] = (now, None, reason)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {s.address: (_probes[s.address][1], _probes[s.address][2]) for s in servers}


def probe(fio: str, server: Server) -> tuple[str | None, str | None]:
    """(the server's fio version, why it cannot be used)."""
    return probe_all(fio, [server])[server.address]


def check_servers(fio: str, local_version: str, servers: Sequence[Server]) -> str | None:
    """None when every server answers with this fio's version; else the first reason."""
    answers = probe_all(fio, servers)
    for server in servers:
        version, reason = answers[server.address]
        if reason is not None:
            return reason
        if version != local_version:
            return (
                f"the fio server at {server.address} runs {version}, this fio is {local_version}: "
                "client and server must be the same fio"
            )
    return None


class RemoteInstance(Instance):
    def __init__(self, environment: RemoteEnvironment) -> None:
        self._env = environment
        self._pid: int | None = None
        self._output = ""

    def prepare(self) -> Mapping[str, str]:
        return {"host_caches_dropped": NO_SSH.format(host=self._env.hosts)}

    def run_fio(self, job_text: str, *, timeout_s: float) -> FioRun:
        resources = self._env.context.resources
        registered = []

        def remember(pid: int) -> None:
            self._pid = pid
            registered.append(resources.add_process(pid, note="fio client"))

        try:
            fio_run = self._env.run_job(job_text, timeout_s=timeout_s, on_start=remember)
        finally:
            self._pid = None
            for resource in registered:
                resources.discard(resource)
        self._output = fio_run.output_json
        return fio_run

    def pids_to_monitor(self) -> Sequence[int]:
        return (self._pid,) if self._pid else ()

    def after_run_facts(self) -> Mapping[str, str]:
        """Each host's throughput in a multi-host trial (the stored result is the aggregate)."""
        if len(self._env.servers) < 2 or not self._output:
            return {}
        try:
            document = decode_document(self._output)
            shares = {
                host: parse_document(part).result.total_bw_bps for host, part in per_host_documents(document).items()
            }
        except IocompareError:
            return {}
        return {FLEET_FACT: json.dumps(shares, sort_keys=True)}


class RemoteEnvironment(Environment):
    kind = "remote"
    description = "fio on another host that runs `fio --server` (remote:HOST[:PORT]; A+B: all at once)"

    @classmethod
    def variants(cls) -> Sequence[tuple[str | None, str]]:
        return (("HOST[:PORT]", cls.description),)

    @classmethod
    def accepts(cls, variant: str | None) -> bool:
        servers_of(variant)  # a bad spelling is bad input, named
        return True

    @classmethod
    def unavailable_reason(cls, variant: str | None) -> str | None:
        if variant == "HOST[:PORT]":
            return "a placeholder: name a host, remote:HOST[:PORT]"
        try:
            fio = find_fio(None)
        except UserError as exc:
            return exc.one_line()
        return check_servers(fio.path, fio.version, servers_of(variant))

    def __init__(self, name: str, context: RunContext) -> None:
        super().__init__(name, context)
        self.servers = servers_of(name.partition(":")[2])
        self.hosts = ", ".join(s.address for s in self.servers)
        self.scratch = (
            Path(tempfile.gettempdir()) / f"iocompare-{context.run_tag}" / "+".join(s.slug for s in self.servers)
        )
        self._laid_out: set[int] = set()
        self._facts: dict[str, str] | None = None

    @property
    def host_storage_path(self) -> Path:
        return self.scratch if self.scratch.exists() else Path(tempfile.gettempdir())

    def space_needs(self, working_set_bytes: int) -> Sequence[SpaceNeed]:
        return ()  # the working set is on the servers' filesystems, unknown here without ssh

    def setup(self) -> None:
        self._registered = [
            self.context.resources.add_path(self.scratch.parent, note="run scratch directory"),
            self.context.resources.add_path(self.scratch, note=f"{self.name} job files"),
        ]
        self.scratch.mkdir(parents=True, exist_ok=True)

    def teardown(self) -> None:
        for size in sorted(self._laid_out):
            self._unlink_remote(size)
        self._laid_out.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)
        try:
            self.scratch.parent.rmdir()
        except OSError:
            pass
        for resource in getattr(self, "_registered", ()):
            if not Path(resource.ident).exists():
                self.context.resources.discard(resource)

    def run_job(self, job_text: str, *, timeout_s: float, on_start: Callable[[int], None] | None = None) -> FioRun:
        work = Path(tempfile.mkdtemp(prefix="fio-", dir=self.scratch))
        try:
            job_file, output_file = work / "job.fio", work / "out.json"
            job_file.write_text(job_text)
            argv = client_argv(self.context.fio.path, self.servers, output=str(output_file), job=str(job_file))
            done = run(argv, timeout_s=timeout_s, check=False, cwd=str(work), on_start=on_start)
            output = output_file.read_text() if output_file.exists() else ""
            stderr = done.stderr
            if done.exit_code != 0 and not stderr.strip():
                stderr = f"fio client to {self.hosts}: {done.stdout.strip()[-500:] or 'no message'}"
            return FioRun(done.argv, done.exit_code, output, stderr, done.wall_s)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def working_set_path(self, size_bytes: int) -> str:
        # Relative: in the directory each server was started in. One name for every host.
        return f"iocompare-{self.context.run_tag}-working-set-{short_size(size_bytes)}.dat"

    def ensure_working_set(self, size_bytes: int, *, timeout_s: float) -> None:
        if size_bytes in self._laid_out:
            return
        self._laid_out.add(size_bytes)  # before the layout: a half-written file is unlinked too
        job = render_layout_job(filename=self.working_set_path(size_bytes), size_bytes=size_bytes)
        fio_run = self.run_job(job, timeout_s=timeout_s)
        if fio_run.exit_code != 0:
            raise ToolError(
                f"laying out the working set on {self.hosts} failed:\n"
                + describe_failure(fio_run.argv, fio_run.exit_code, fio_run.stderr)
            )

    def _unlink_remote(self, size_bytes: int) -> None:
        """fio removes the file itself (unlink=1): iocompare has no other way onto the server."""
        name = self.working_set_path(size_bytes)
        job = f"[iocompare-unlink]\nioengine=psync\nfilename={name}\nsize={size_bytes}\nrw=read\nio_size=4k\nunlink=1\n"
        try:
            self.run_job(job, timeout_s=60)
        except IocompareError:
            pass  # a server that is gone keeps its file; the docs say where it is

    def instance(self) -> Instance:
        return RemoteInstance(self)

    def facts(self) -> Mapping[str, str]:
        if self._facts is None:
            answers = probe_all(self.context.fio.path, self.servers)
            versions = {address: version or "unknown" for address, (version, _) in answers.items()}
            self._facts = {
                "kind": self.kind,
                "remote_servers": self.hosts,
                "remote_clients": str(len(self.servers)),
                "fio_version": ", ".join(sorted(set(versions.values()))),
                "fio_path": self.context.fio.path + " (client)",
                "remote_host_facts": NO_SSH.format(host=self.hosts),
                "source": f"fio --client to {self.hosts}",
            }
        return self._facts

    def cache_layers(self, direct: bool) -> Sequence[CacheLayer]:
        # The server's RAM is not known without ssh: buffered IO cannot be shown to outsize its
        # page cache, so the cache rule refuses (or labels) it rather than assuming it does.
        return (CacheLayer("remote host page cache (size unknown)", 0 if direct else 1 << 62, bypassed=direct),)
