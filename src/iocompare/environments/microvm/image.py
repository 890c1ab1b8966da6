"""`iocompare image build --kind guest`: the microVM guest artifacts, built offline-capable and
cached by content hash under `<cache>/guest/<hash>/`:

    vmlinuz          the kernel as the package ships it (bzImage; QEMU boots it)
    vmlinux          the same kernel as an uncompressed ELF (Firecracker boots it on x86_64)
    initramfs.cpio   busybox, the host's fio and mke2fs with their libraries, modules, init
    manifest.json    what it was built from, and the hash

The hash covers everything the artifacts are made of (kernel package digest, the bytes of every
host binary and library copied in, the init script, this builder's version), so a warm build
compares hashes and rebuilds nothing. The kernel package is fetched with `apt-get download` once
into `<cache>/downloads/` and reused; nothing is ever downloaded while benchmarking.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iocompare.engines.fio_binary import find_fio
from iocompare.environments.image import ImageInfo
from iocompare.environments.microvm.guest_init import MODULE_LIST, render_init
from iocompare.environments.microvm.initramfs import (
    BLOCK_MODULES,
    FILESYSTEM_MODULES,
    Archive,
    add_program,
    builtin_modules,
    module_bytes,
    module_index,
    module_load_order,
    shared_libraries,
    write_newc,
)
from iocompare.environments.microvm.kernel import (
    KernelSource,
    extract_kernel,
    extract_vmlinux,
    resolve_kernel,
    sha256_file,
)
from iocompare.errors import UserError
from iocompare.system.safe_text import escape
from iocompare.system.untrusted import (
    GuestManifestRecord,
    note_on_stderr,
    problem_of,
    read_pointer,
    read_record,
    read_text,
)

BUILDER_VERSION = "1"  # bump when the layout of the artifacts changes
CACHE_ENV = "IOCOMPARE_CACHE_DIR"
IMAGE_ENV = "IOCOMPARE_GUEST_IMAGE"  # use this artifact directory instead of the latest build
CURRENT = "current"  # file naming the hash of the latest build
BUSYBOX = Path("/bin/busybox")
MKE2FS = Path("/sbin/mke2fs")
MKE2FS_CONF = Path("/etc/mke2fs.conf")


def cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "iocompare"


def guest_dir() -> Path:
    return cache_dir() / "guest"


@dataclass(frozen=True)
class GuestImage:
    """A built guest: what the microVM environments boot."""

    directory: Path
    manifest: dict[str, Any]  # manifest.json as loaded

    @property
    def vmlinuz(self) -> Path:
        return self.directory / "vmlinuz"

    @property
    def vmlinux(self) -> Path:
        return self.directory / "vmlinux"

    @property
    def initramfs(self) -> Path:
        return self.directory / "initramfs.cpio"

    @property
    def content_hash(self) -> str:
        value: str = self.manifest["hash"]
        return value

    @property
    def kernel_version(self) -> str:
        value: str = self.manifest["kernel_version"]
        return value

    @property
    def fio_sha256(self) -> str:
        value: str = self.manifest["fio_sha256"]
        return value

    @property
    def unpacked_bytes(self) -> int:
        return int(self.manifest["initramfs_unpacked_bytes"])


def load_image(directory: Path) -> GuestImage:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise UserError(
            f"{directory} is not a guest image (no manifest.json)", hint="iocompare image build --kind guest"
        )
    record, problem = problem_of(manifest_path, GuestManifestRecord)
    if record is None:
        raise UserError(
            f"guest image {directory} has an invalid manifest.json ({problem})",
            hint="iocompare image build --kind guest --force",
        )
    image = GuestImage(directory, json.loads(read_text(manifest_path)))
    for needed in (image.vmlinuz, image.initramfs):
        if not needed.is_file():
            raise UserError(
                f"guest image {directory} is incomplete: {needed.name} is missing",
                hint="iocompare image build --kind guest --force",
            )
    return image


def find_image() -> GuestImage | None:
    """The guest image to boot: IOCOMPARE_GUEST_IMAGE, else the latest build; None if none.
    A named directory that does not exist is bad input (UserError)."""
    named = os.environ.get(IMAGE_ENV)
    if named:
        directory = Path(named)
        if not directory.is_dir():
            raise UserError(f"{IMAGE_ENV}={named}: no such directory", hint="iocompare image list --kind guest")
        return load_image(directory)
    content_hash = read_pointer(guest_dir() / CURRENT, note_on_stderr)
    if content_hash is None:
        return None
    directory = guest_dir() / content_hash
    return _valid_image(directory)


def _valid_image(directory: Path) -> GuestImage | None:
    """A cached build, or None after one line (its manifest moved aside) when its manifest is invalid."""
    manifest = directory / "manifest.json"
    if read_record(manifest, GuestManifestRecord, note_on_stderr) is None:
        return None
    try:
        return load_image(directory)
    except UserError as exc:
        note_on_stderr(f"ignored guest image {escape(str(directory))}: {escape(exc.one_line())}")
        return None


def _sha256_many(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path}\0{sha256_file(path)}\0".encode())
    return digest.hexdigest()


class GuestBuilder:
    kind = "guest"

    def unavailable_reason(self) -> str | None:
        for program, package in ((BUSYBOX, "busybox-static"), (MKE2FS, "e2fsprogs")):
            if not program.is_file():
                return f"{program} not found (apt-get install {package})"
        if shutil.which("ldd") is None:
            return "ldd not found (apt-get install libc-bin)"
        return None

    def _inputs(self, kernel: KernelSource) -> tuple[str, dict[str, str]]:
        fio = find_fio()
        fio_path = Path(fio.path).resolve()
        programs = {
            "fio": [fio_path, *(lib.resolve() for lib in shared_libraries(fio_path))],
            "mke2fs": [MKE2FS.resolve(), *(lib.resolve() for lib in shared_libraries(MKE2FS))],
            "busybox": [BUSYBOX.resolve()],
        }
        inputs = {
            "builder_version": BUILDER_VERSION,
            "kernel": kernel.digest,
            "init": hashlib.sha256(render_init().encode()).hexdigest(),
            "modules": list(BLOCK_MODULES + FILESYSTEM_MODULES),
            "programs": {name: _sha256_many(paths) for name, paths in programs.items()},
            "mke2fs_conf": sha256_file(MKE2FS_CONF) if MKE2FS_CONF.is_file() else "",
        }
        content_hash = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
        details = {
            "fio_version": fio.version,
            "fio_path": fio.path,
            "fio_sha256": sha256_file(fio_path),
            "kernel_source": kernel.description,
        }
        return content_hash, details

    def build(self, *, force: bool = False, progress: Callable[[str], None] = lambda _: None) -> ImageInfo:
        reason = self.unavailable_reason()
        if reason is not None:
            raise UserError(f"cannot build the guest image: {reason}")
        root = guest_dir()
        kernel = resolve_kernel(cache_dir() / "downloads", progress)
        content_hash, details = self._inputs(kernel)
        final = root / content_hash
        if (final / "manifest.json").is_file() and not force:
            progress(f"guest image {content_hash[:12]} is up to date (cached in {final})")
            self._set_current(content_hash)
            return self._info(load_image(final))
        root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".build-{content_hash[:12]}-", dir=root))
        try:
            started = time.monotonic()
            self._build_into(work, kernel, content_hash, details, progress)
            if final.exists():
                shutil.rmtree(final)
            os.replace(work, final)
            progress(f"built guest image {content_hash[:12]} in {time.monotonic() - started:.1f} s")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._set_current(content_hash)
        return self._info(load_image(final))

    def _build_into(
        self,
        out: Path,
        kernel: KernelSource,
        content_hash: str,
        details: dict[str, str],
        progress: Callable[[str], None],
    ) -> None:
        unpacked = out / "unpacked"
        progress(f"unpacking the kernel ({kernel.description})")
        extracted = extract_kernel(kernel, unpacked)
        shutil.copyfile(extracted.bzimage, out / "vmlinuz")
        progress("extracting the ELF vmlinux for Firecracker")
        (out / "vmlinux").write_bytes(extract_vmlinux((out / "vmlinuz").read_bytes()))

        progress("assembling the initramfs (busybox, fio, mke2fs, modules, init)")
        archive = Archive()
        for directory in ("dev", "proc", "sys", "run", "tmp", "mnt/iocompare", "etc/iocompare"):
            archive.add_dir(directory)
        archive.add_file("bin/busybox", BUSYBOX.resolve())
        archive.add_symlink("bin/sh", "busybox")
        archive.add_file("init", render_init().encode())
        add_program(archive, Path(details["fio_path"]).resolve(), "bin/fio")
        add_program(archive, MKE2FS, "sbin/mke2fs")
        if MKE2FS_CONF.is_file():
            archive.add_file("etc/mke2fs.conf", MKE2FS_CONF, 0o644)
        order: list[str] = []
        if extracted.modules_dir is not None:
            index = module_index(extracted.modules_dir)
            builtin = builtin_modules(extracted.modules_dir)
            order = module_load_order(
                BLOCK_MODULES + FILESYSTEM_MODULES, index, builtin, optional=FILESYSTEM_MODULES[1:]
            )
            for name in order:
                archive.add_file(f"lib/modules/{name}.ko", module_bytes(index[name]), 0o644)
        archive.add_file(MODULE_LIST, "".join(f"{name}.ko\n" for name in order).encode(), 0o644)
        size = write_newc(archive, out / "initramfs.cpio")
        shutil.rmtree(unpacked, ignore_errors=True)

        manifest = {
            "hash": content_hash,
            "builder_version": BUILDER_VERSION,
            "kernel_version": extracted.version,
            "kernel_source": kernel.description,
            "modules": order,
            "initramfs_bytes": size,
            "initramfs_unpacked_bytes": archive.unpacked_bytes(),
            "created_at": time.time(),
            **details,
        }
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def _set_current(self, content_hash: str) -> None:
        pointer = guest_dir() / CURRENT
        if read_pointer(pointer, note_on_stderr) == content_hash:
            return  # a warm build writes nothing
        temporary = pointer.with_name(f".{CURRENT}.{os.getpid()}")
        temporary.write_text(content_hash + "\n")
        os.replace(temporary, pointer)

    def _info(self, image: GuestImage) -> ImageInfo:
        manifest = image.manifest
        size = sum(path.stat().st_size for path in image.directory.iterdir() if path.is_file())
        return ImageInfo(
            kind=self.kind,
            name=image.content_hash[:12],
            content_hash=image.content_hash,
            size_bytes=size,
            created_at=float(manifest["created_at"]),
            details={
                "kernel": manifest["kernel_version"],
                "fio_version": manifest["fio_version"],
                "path": str(image.directory),
            },
        )

    def list(self) -> Sequence[ImageInfo]:
        root = guest_dir()
        if not root.is_dir():
            return []
        infos = []
        for directory in sorted(root.iterdir()):
            if directory.is_dir() and not directory.is_symlink() and (directory / "manifest.json").is_file():
                image = _valid_image(directory)
                if image is not None and image.content_hash == directory.name:
                    infos.append(self._info(image))
        return infos

    def remove(self, name: str | None = None) -> Sequence[str]:
        if name is not None and not name.strip():
            raise UserError(f"image name {name!r} is empty", hint="leave it out to remove every guest image")
        removed = []
        for info in self.list():
            if name is None or info.content_hash.startswith(name):
                shutil.rmtree(guest_dir() / info.content_hash, ignore_errors=True)
                removed.append(info.name)
        if name is not None and not removed:
            raise UserError(f"no guest image {name!r}", hint="iocompare image list --kind guest")
        pointer = guest_dir() / CURRENT
        current = read_pointer(pointer, note_on_stderr)
        if current is not None and not (guest_dir() / current).is_dir():
            pointer.unlink()
        return removed
