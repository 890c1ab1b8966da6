"""The container image fio runs in: the host's own fio build, offline, cached by content hash.

The root filesystem holds exactly the host's fio binary and the shared libraries `ldd` finds for
it (at the same paths, so the same loader and RUNPATHs work), plus a static busybox for a shell,
`sleep` as the container's PID 1, and `cat`. It is imported with `<engine> import` from a
tarball: no registry, no base image, no network. The image tag is `iocompare-fio:<hash12>`,
where the hash covers the fio binary, every library, busybox and the builder's version: an
unchanged host gives the same tag, and a warm build returns the existing image untouched.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from iocompare.engines.fio_binary import find_fio
from iocompare.environments.container.engine import (
    Engine,
    inspect_one,
    labels_of,
    names,
)
from iocompare.environments.container.probe import status
from iocompare.environments.image import ImageInfo
from iocompare.errors import IocompareError, ToolError, UserError
from iocompare.system.proc import run

BUILDER_VERSION = "2"  # 2: the host's iperf3 and sockperf travel too (network runs)
REPOSITORY = "iocompare-fio"
FIO_IN_IMAGE = "/usr/bin/fio"
# The network load tools, at the same paths as fio: the host's builds, so versions are equal.
LOADS_IN_IMAGE = {"iperf3": "/usr/bin/iperf3", "sockperf": "/usr/bin/sockperf"}
BUSYBOX_IN_IMAGE = "/bin/busybox"
BUSYBOX_CANDIDATES = ("/usr/bin/busybox", "/bin/busybox")
APPLETS = ("sh", "sleep", "cat", "true", "ls", "mkdir", "rm", "sync", "stat", "env")
# Mount points and scratch directories the image provides (mode): /data is the target.
DIRECTORIES = {
    "tmp": 0o1777,
    "data": 0o755,
    "iocompare": 0o755,
    "proc": 0o555,
    "sys": 0o555,
    "dev": 0o755,
    "etc": 0o755,
    "run": 0o755,
}
LABEL_HASH = "iocompare.content_hash"
LABEL_FIO = "iocompare.fio_version"
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def shared_libraries(ldd_output: str) -> list[str]:
    """Absolute paths of the libraries (and the loader) in `ldd` output; vdso has no file."""
    paths = []
    for line in ldd_output.splitlines():
        match = _LDD_LINE.match(line)
        if match:
            paths.append(match.group(1))
        elif "=> not found" in line:
            raise ToolError(f"ldd cannot find a library fio needs: {line.strip()}")
    return paths


def find_busybox() -> str | None:
    for candidate in BUSYBOX_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _libraries_of(binary: str) -> list[str]:
    done = run(["ldd", binary], timeout_s=60, check=False)
    if done.exit_code != 0 and "not a dynamic executable" in done.stdout + done.stderr:
        return []  # static
    if done.exit_code != 0:
        raise ToolError(f"ldd {binary} failed: {done.stderr.strip()}")
    return shared_libraries(done.stdout)


@dataclass(frozen=True)
class Rootfs:
    """What goes into the image: (path in image, host source) pairs and busybox applet links."""

    files: tuple[tuple[str, str], ...]
    links: tuple[tuple[str, str], ...]

    def content_hash(self) -> str:
        digest = hashlib.sha256(f"iocompare-container-image {BUILDER_VERSION}\n".encode())
        for dest, source in self.files:
            digest.update(f"file {dest} {_file_digest(source)}\n".encode())
        for dest, target in self.links:
            digest.update(f"link {dest} {target}\n".encode())
        return digest.hexdigest()

    def write_tar(self, path: Path) -> int:
        """Write the root filesystem as a tar archive; return its size in bytes."""
        with tarfile.open(path, "w") as tar:
            seen: set[str] = set()
            for directory, mode in DIRECTORIES.items():
                _add_dir(tar, directory, mode, seen)
            for dest, source in self.files:
                _add_parents(tar, dest, seen)
                info = tar.gettarinfo(source, arcname=dest.lstrip("/"))
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                with open(source, "rb") as handle:
                    tar.addfile(info, handle)
            for dest, target in self.links:
                _add_parents(tar, dest, seen)
                info = tarfile.TarInfo(dest.lstrip("/"))
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
                tar.addfile(info)
            passwd = b"root:x:0:0:root:/:/bin/sh\n"
            info = tarfile.TarInfo("etc/passwd")
            info.size, info.mode = len(passwd), 0o644
            tar.addfile(info, io.BytesIO(passwd))
        return path.stat().st_size


def _add_dir(tar: tarfile.TarFile, name: str, mode: int, seen: set[str]) -> None:
    if name in seen:
        return
    seen.add(name)
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    tar.addfile(info)


def _add_parents(tar: tarfile.TarFile, dest: str, seen: set[str]) -> None:
    parts = dest.strip("/").split("/")[:-1]
    for i in range(1, len(parts) + 1):
        _add_dir(tar, "/".join(parts[:i]), 0o755, seen)


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _file_digest(path: str) -> str:
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def plan_rootfs(fio_path: str, busybox_path: str) -> Rootfs:
    files = {FIO_IN_IMAGE: os.path.realpath(fio_path), BUSYBOX_IN_IMAGE: os.path.realpath(busybox_path)}
    binaries = [fio_path, busybox_path]
    for name, dest in LOADS_IN_IMAGE.items():
        found = shutil.which(name)
        if found is not None:  # absent: the image still runs fio; a network run says what is missing
            files[dest] = os.path.realpath(found)
            binaries.append(found)
    for binary in binaries:
        for library in _libraries_of(binary):
            files.setdefault(library, os.path.realpath(library))
    links = tuple((f"/bin/{applet}", "busybox") for applet in APPLETS)
    return Rootfs(tuple(sorted(files.items())), links)


def short_name(reference: str) -> str:
    """`localhost/iocompare-fio:abc` (podman) and `iocompare-fio:abc` (docker) -> `iocompare-fio:abc`."""
    return reference.rsplit("/", 1)[-1]


def _created(value: object) -> float:
    text = str(value or "")
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", text)
    if not match:
        return 0.0
    return datetime.fromisoformat(match.group(1) + (match.group(3) or "Z").replace("Z", "+00:00")).timestamp()


class ContainerImageBuilder:
    """`iocompare image` for one engine (kind `docker` or `podman`)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def _engine(self) -> Engine:
        engine_status = status(self.kind)
        if engine_status.reason is not None:
            raise UserError(f"{self.kind} is unavailable here: {engine_status.reason}")
        return engine_status.engine()

    def unavailable_reason(self) -> str | None:
        if find_busybox() is None:
            return "busybox-static is not installed; the image needs its shell (hint: apt-get install busybox-static)"
        return status(self.kind).reason

    def tag_for(self, fio_path: str) -> tuple[str, Rootfs]:
        busybox = find_busybox()
        if busybox is None:
            raise UserError("busybox-static is not installed", hint="apt-get install busybox-static")
        rootfs = plan_rootfs(fio_path, busybox)
        return f"{REPOSITORY}:{rootfs.content_hash()[:12]}", rootfs

    def build(
        self, *, force: bool = False, progress: Callable[[str], None] = lambda _: None, fio_path: str | None = None
    ) -> ImageInfo:
        fio = find_fio(fio_path)
        engine = self._engine()
        tag, rootfs = self.tag_for(fio.path)
        if not force:
            existing = self._info(engine, tag)
            if existing is not None:
                progress(f"{self.kind}: {tag} is up to date (content hash unchanged)")
                return existing
        progress(
            f"{self.kind}: building {tag} from {fio.path} ({fio.version}), the network load tools and their libraries"
        )
        with tempfile.TemporaryDirectory(prefix="iocompare-image-") as work:
            archive = Path(work) / "rootfs.tar"
            rootfs.write_tar(archive)
            content_hash = rootfs.content_hash()
            changes = [
                f"LABEL {LABEL_HASH}={content_hash}",
                f"LABEL {LABEL_FIO}={fio.version}",
                'CMD ["/bin/sleep", "infinity"]',
            ]
            args = ["import"]
            for change in changes:
                args += ["--change", change]
            engine.call(*args, str(archive), tag, timeout_s=600)
        info = self._info(engine, tag)
        if info is None:
            raise ToolError(f"{self.kind} import reported success but image {tag} is missing")
        return info

    def _info(self, engine: Engine, reference: str) -> ImageInfo | None:
        data = inspect_one(engine, "image", reference)
        if data is None:
            return None
        labels = labels_of(data)
        return ImageInfo(
            kind=self.kind,
            name=short_name(reference),
            content_hash=labels.get(LABEL_HASH, ""),
            size_bytes=int(data.get("Size") or 0),
            created_at=_created(data.get("Created")),
            details={
                "fio_version": labels.get(LABEL_FIO, "?"),
                "id": str(data.get("Id", "")).removeprefix("sha256:")[:12],
            },
        )

    def _references(self, engine: Engine) -> list[str]:
        refs = names(engine, "images", "--format", "{{.Repository}}:{{.Tag}}")
        return sorted({ref for ref in refs if short_name(ref).split(":")[0] == REPOSITORY})

    def list(self) -> Sequence[ImageInfo]:
        engine = self._engine()
        infos = [self._info(engine, ref) for ref in self._references(engine)]
        return [info for info in infos if info is not None]

    def remove(self, name: str | None = None) -> Sequence[str]:
        engine = self._engine()
        refs = self._references(engine)
        if name is not None:
            wanted = name if ":" in name else f"{REPOSITORY}:{name}"
            refs = [ref for ref in refs if short_name(ref) == short_name(wanted)]
            if not refs:
                raise UserError(
                    f"no {self.kind} image {name!r} built by iocompare", hint=f"iocompare image list --kind {self.kind}"
                )
        removed = []
        for ref in refs:
            engine.call("rmi", ref)
            removed.append(short_name(ref))
        return removed


def ensure_image(kind: str, fio_path: str, *, progress: Callable[[str], None] = lambda _: None) -> ImageInfo:
    """The image for this host's fio: built when missing, else reused."""
    try:
        return ContainerImageBuilder(kind).build(progress=progress, fio_path=fio_path)
    except IocompareError:
        raise
    except OSError as exc:
        raise ToolError(f"building the {kind} image failed: {exc}") from None


BUILDERS = (ContainerImageBuilder("podman"), ContainerImageBuilder("docker"))
