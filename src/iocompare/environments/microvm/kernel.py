"""The guest kernel: Debian's cloud kernel package (or one the user names), its modules, and the
uncompressed ELF `vmlinux` that Firecracker boots on x86_64.

Everything here runs at `iocompare image build` time; nothing is downloaded while benchmarking.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lz4.block

from iocompare.errors import ToolError, UserError
from iocompare.system.proc import run

DEBIAN_META_PACKAGE = "linux-image-cloud-amd64"
KERNEL_ENV = "IOCOMPARE_GUEST_KERNEL"  # a linux-image-*.deb or a bzImage/vmlinuz file
MODULES_ENV = "IOCOMPARE_GUEST_MODULES"  # /lib/modules/<version> tree for a named bzImage

ELF_MAGIC = b"\x7fELF"
# The x86 bzImage carries the kernel compressed; the decompressor finds it by offset, we find it
# by the compressor's magic. Debian's kernels use LZ4 in its legacy frame (CONFIG_KERNEL_LZ4).
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"
LZ4_LEGACY_BLOCK_BYTES = 8 << 20  # every legacy block decompresses to at most 8 MiB
# LZ4_COMPRESSBOUND: the largest compressed size of a block of that many bytes.
LZ4_LEGACY_MAX_COMPRESSED = LZ4_LEGACY_BLOCK_BYTES + LZ4_LEGACY_BLOCK_BYTES // 255 + 16
GZIP_MAGIC = b"\x1f\x8b\x08"
XZ_MAGIC = b"\xfd7zXZ\x00"


@dataclass(frozen=True)
class KernelSource:
    """Where the kernel comes from; `digest` identifies its content for the image's hash."""

    description: str  # e.g. "debian linux-image-6.1.0-56-cloud-amd64 6.1.192-2"
    digest: str
    deb: Path | None = None
    bzimage: Path | None = None
    modules_dir: Path | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_kernel(downloads: Path, progress: Callable[[str], None] = lambda _: None) -> KernelSource:
    """The user's kernel (IOCOMPARE_GUEST_KERNEL) or Debian's cloud kernel, fetched once with apt."""
    named = os.environ.get(KERNEL_ENV)
    if named:
        return _named_kernel(Path(named))
    return _debian_kernel(downloads, progress)


def _named_kernel(path: Path) -> KernelSource:
    if not path.is_file():
        raise UserError(f"{KERNEL_ENV}={path}: no such file", hint="name a linux-image-*.deb or a bzImage")
    if path.suffix == ".deb":
        return KernelSource(f"deb {path.name}", sha256_file(path), deb=path)
    modules = os.environ.get(MODULES_ENV)
    modules_dir = Path(modules) if modules else None
    if modules_dir is not None and not modules_dir.is_dir():
        raise UserError(
            f"{MODULES_ENV}={modules_dir}: no such directory", hint="name the kernel's /lib/modules/<version> tree"
        )
    digest = hashlib.sha256(sha256_file(path).encode())
    if modules_dir is not None:
        for ko in sorted(modules_dir.rglob("*.ko*")):
            digest.update(f"{ko.relative_to(modules_dir)}:{ko.stat().st_size}:{ko.stat().st_mtime_ns}".encode())
    return KernelSource(f"file {path}", digest.hexdigest(), bzimage=path, modules_dir=modules_dir)


def _apt_field(text: str, name: str) -> str | None:
    match = re.search(rf"^{name}: (.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _debian_kernel(downloads: Path, progress: Callable[[str], None]) -> KernelSource:
    if shutil.which("apt-cache") is None:
        raise UserError(
            "no guest kernel: apt-cache is not available", hint=f"set {KERNEL_ENV} to a linux-image-*.deb or a bzImage"
        )
    depends = run(["apt-cache", "depends", DEBIAN_META_PACKAGE], timeout_s=60, check=False).stdout
    match = re.search(r"Depends: (linux-image-\S+)", depends)
    cached = sorted(downloads.glob("linux-image-*.deb"), key=lambda p: p.stat().st_mtime) if downloads.is_dir() else []
    if match is None:
        if cached:  # offline, no package lists: the last kernel fetched
            deb = cached[-1]
            return KernelSource(f"debian {deb.name}", sha256_file(deb), deb=deb)
        raise UserError(
            f"apt does not know {DEBIAN_META_PACKAGE}",
            hint=f"run apt-get update (Debian), or set {KERNEL_ENV} to a linux-image-*.deb or a bzImage",
        )
    package = match.group(1)
    show = run(["apt-cache", "show", "--no-all-versions", package], timeout_s=60).stdout
    version, sha256 = _apt_field(show, "Version"), _apt_field(show, "SHA256")
    if not version or not sha256:
        raise ToolError(f"apt-cache show {package} gave no Version/SHA256")
    deb = downloads / f"{package}_{version.replace(':', '%3a')}_amd64.deb"
    if not (deb.is_file() and sha256_file(deb) == sha256):
        downloads.mkdir(parents=True, exist_ok=True)
        progress(f"downloading {package} {version} with apt-get download")
        done = run(["apt-get", "download", f"{package}={version}"], timeout_s=900, cwd=str(downloads), check=False)
        if done.exit_code != 0 or not deb.is_file():
            raise ToolError(
                f"apt-get download {package}={version} failed: {done.stderr.strip()[-500:]}",
                hint="run apt-get update; check the network",
            )
        if sha256_file(deb) != sha256:
            deb.unlink()
            raise ToolError(f"{deb.name}: SHA256 differs from the package index")
    return KernelSource(f"debian {package} {version}", sha256, deb=deb)


@dataclass(frozen=True)
class ExtractedKernel:
    bzimage: Path
    modules_dir: Path | None
    version: str


def extract_kernel(source: KernelSource, into: Path) -> ExtractedKernel:
    """Unpack the kernel package (dpkg-deb -x) or take the named bzImage as it is."""
    if source.deb is None:
        assert source.bzimage is not None
        version = kernel_version(source.bzimage.read_bytes()) or source.bzimage.name
        return ExtractedKernel(source.bzimage, source.modules_dir, version)
    try:
        subprocess.run(["dpkg-deb", "-x", str(source.deb), str(into)], check=True, capture_output=True, timeout=600)
    except FileNotFoundError:
        raise UserError(
            "dpkg-deb not found: cannot unpack the kernel package", hint=f"set {KERNEL_ENV} to a bzImage"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise ToolError(f"dpkg-deb -x {source.deb} failed: {exc.stderr.decode(errors='replace')[-500:]}") from None
    images = sorted((into / "boot").glob("vmlinuz-*"))
    if not images:
        raise UserError(f"{source.deb.name} holds no boot/vmlinuz-*: not a kernel image package")
    version = images[0].name.removeprefix("vmlinuz-")
    modules = into / "lib" / "modules" / version
    return ExtractedKernel(images[0], modules if modules.is_dir() else None, version)


def kernel_version(bzimage: bytes) -> str | None:
    """The version string of an x86 bzImage (setup header field kernel_version)."""
    if len(bzimage) < 0x210 or bzimage[0x202:0x206] != b"HdrS":
        return None
    offset = int.from_bytes(bzimage[0x20E:0x210], "little") + 0x200
    text = bzimage[offset : offset + 256].split(b"\0", 1)[0].decode(errors="replace")
    return text.split(" ", 1)[0] or None


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The uncompressed ELF kernel inside an x86 bzImage (what Firecracker boots on x86_64).

    Like the kernel's scripts/extract-vmlinux: try each place a compressor's magic occurs and keep
    the first that decompresses to an ELF file. LZ4 legacy frames are parsed here (4-byte magic,
    then blocks of a 4-byte little-endian compressed size and the data); the frame has no end
    mark, so it ends at the first size that is not a plausible block (the kernel appends the
    uncompressed size, and the bzImage's tail follows).
    """
    for magic, decompress in ((LZ4_LEGACY_MAGIC, _lz4_legacy), (GZIP_MAGIC, _gzip), (XZ_MAGIC, _xz)):
        start = bzimage.find(magic)
        while start != -1:
            try:
                data = decompress(bzimage[start:])
            except (ValueError, OSError, EOFError, lzma.LZMAError, lz4.block.LZ4BlockError):
                data = b""
            if data.startswith(ELF_MAGIC):
                return data
            start = bzimage.find(magic, start + 1)
    raise UserError("no ELF vmlinux found in the kernel image (compressed with LZ4, gzip or xz?)")


def _lz4_legacy(data: bytes) -> bytes:
    out = bytearray()
    position = len(LZ4_LEGACY_MAGIC)
    while position + 4 <= len(data):
        size = int.from_bytes(data[position : position + 4], "little")
        if size == 0 or size > LZ4_LEGACY_MAX_COMPRESSED or data[position : position + 4] == LZ4_LEGACY_MAGIC:
            break
        block = data[position + 4 : position + 4 + size]
        if len(block) < size:
            break
        try:
            out += lz4.block.decompress(block, uncompressed_size=LZ4_LEGACY_BLOCK_BYTES)
        except lz4.block.LZ4BlockError:
            if not out:
                raise
            break  # the trailer after the last block is not a block: the frame ended
        position += 4 + size
    return bytes(out)


def _gzip(data: bytes) -> bytes:
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def _xz(data: bytes) -> bytes:
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
