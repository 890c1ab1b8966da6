"""The guest's initramfs: busybox, the host's own fio (and mke2fs) with their shared libraries,
the kernel modules the guest needs, and the init script, as an uncompressed newc cpio archive.

Uncompressed on purpose: under software emulation (TCG) the guest spends seconds inflating a
compressed archive of this size; an uncompressed one is only copied. The archive is
deterministic (fixed inode numbers and mtimes, sorted entries), so equal inputs give equal bytes.
"""

from __future__ import annotations

import lzma
import re
import shutil
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from iocompare.errors import ToolError, UserError
from iocompare.system.proc import run

# Loaded in this order by init (dependencies first). ext4 and crc32c are built into Debian's
# cloud kernel; for a kernel that has them as modules they are picked up here. virtio_scsi and
# sd_mod (with scsi_mod, scsi_common) are modules there: the `drive=scsi` QEMU variant's disk.
BLOCK_MODULES = ("virtio_mmio", "virtio_blk", "virtio_scsi", "sd_mod")
FILESYSTEM_MODULES = ("ext4", "crc32c_generic")

_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


@dataclass
class Archive:
    """Files to pack: archive path -> (host source or bytes, mode)."""

    files: dict[str, tuple[Path | bytes, int]] = field(default_factory=dict)
    directories: set[str] = field(default_factory=set)
    symlinks: dict[str, str] = field(default_factory=dict)

    def add_file(self, path: str, source: Path | bytes, mode: int = 0o755) -> None:
        self.files[path.lstrip("/")] = (source, mode)
        self._parents(path)

    def add_dir(self, path: str) -> None:
        self.directories.add(path.strip("/"))
        self._parents(path)

    def add_symlink(self, path: str, target: str) -> None:
        self.symlinks[path.lstrip("/")] = target
        self._parents(path)

    def _parents(self, path: str) -> None:
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.directories.add("/".join(parts[:i]))

    def unpacked_bytes(self) -> int:
        return sum(len(src) if isinstance(src, bytes) else src.stat().st_size for src, _ in self.files.values())


def write_newc(archive: Archive, out: Path) -> int:
    """Write the archive in the kernel's initramfs format (cpio "newc"); return its size."""
    entries: list[tuple[str, int, bytes | Path]] = []
    for directory in archive.directories:
        entries.append((directory, stat.S_IFDIR | 0o755, b""))
    for path, target in archive.symlinks.items():
        entries.append((path, stat.S_IFLNK | 0o777, target.encode()))
    for path, (source, mode) in archive.files.items():
        entries.append((path, stat.S_IFREG | mode, source))
    entries.sort(key=lambda entry: (entry[0].count("/"), entry[0]))  # parents before children
    with open(out, "wb") as handle:
        for inode, (name, mode, data) in enumerate(entries, start=1):
            _write_entry(handle, name, mode, data, inode)
        _write_entry(handle, "TRAILER!!!", 0, b"", 0)
        size = handle.tell()
        handle.write(b"\0" * (-size % 512))
        return handle.tell()


def _write_entry(handle: BinaryIO, name: str, mode: int, data: bytes | Path, inode: int) -> None:
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    encoded = name.encode() + b"\0"
    fields = (inode, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(encoded), 0)
    header = b"070701" + b"".join(f"{value:08x}".encode() for value in fields)
    handle.write(header + encoded)
    handle.write(b"\0" * (-(len(header) + len(encoded)) % 4))
    if isinstance(data, Path):
        with open(data, "rb") as source:
            shutil.copyfileobj(source, handle, 1 << 20)
    else:
        handle.write(data)
    handle.write(b"\0" * (-size % 4))


def read_newc(blob: bytes) -> dict[str, tuple[int, bytes]]:
    """name -> (mode, data) of a newc archive (for tests and `image list` checks)."""
    entries: dict[str, tuple[int, bytes]] = {}
    position = 0
    while position + 110 <= len(blob):
        if blob[position : position + 6] != b"070701":
            raise ValueError(f"bad cpio magic at {position}")
        fields = [int(blob[position + 6 + 8 * i : position + 14 + 8 * i], 16) for i in range(13)]
        mode, size, name_size = fields[1], fields[6], fields[11]
        name_start = position + 110
        name = blob[name_start : name_start + name_size - 1].decode()
        data_start = name_start + name_size + (-(110 + name_size) % 4)
        if name == "TRAILER!!!":
            break
        entries[name] = (mode, blob[data_start : data_start + size])
        position = data_start + size + (-size % 4)
    return entries


def shared_libraries(binary: Path) -> list[Path]:
    """The shared libraries `binary` loads (ldd), including the dynamic loader, as paths the
    loader looks them up by (the symlink names, which the archive stores as regular files)."""
    done = run(["ldd", str(binary)], timeout_s=60, check=False)
    if done.exit_code != 0:
        if "not a dynamic executable" in done.stdout + done.stderr:
            return []
        raise ToolError(f"ldd {binary} failed: {done.stderr.strip()}")
    missing = [line.strip() for line in done.stdout.splitlines() if "not found" in line]
    if missing:
        raise ToolError(f"{binary} has missing libraries: {'; '.join(missing)}")
    return [Path(match.group(1)) for match in _LDD_PATH.finditer(done.stdout)]


def add_program(archive: Archive, binary: Path, at: str) -> list[Path]:
    """Put a host program and its libraries (at their own paths) in the archive."""
    archive.add_file(at, binary.resolve())
    libraries = shared_libraries(binary)
    for library in libraries:
        archive.add_file(str(library), library.resolve())
    return [binary.resolve(), *(lib.resolve() for lib in libraries)]


# --- kernel modules -------------------------------------------------------------------------


def _module_name(filename: str) -> str:
    return re.sub(r"\.ko(\.xz|\.zst|\.gz)?$", "", filename).replace("-", "_")


def module_index(modules_dir: Path) -> dict[str, Path]:
    return {_module_name(path.name): path for path in modules_dir.rglob("*.ko*")}


def builtin_modules(modules_dir: Path) -> set[str]:
    builtin = modules_dir / "modules.builtin"
    if not builtin.is_file():
        return set()
    return {_module_name(Path(line.strip()).name) for line in builtin.read_text().splitlines() if line.strip()}


def module_bytes(path: Path) -> bytes:
    """The module's ELF bytes (busybox insmod cannot read compressed modules)."""
    data = path.read_bytes()
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(data)
    if path.name.endswith((".ko.zst", ".ko.gz")):
        raise UserError(
            f"kernel module {path.name} is compressed in a format the guest build cannot unpack (only .ko and .ko.xz)"
        )
    return data


def module_depends(data: bytes) -> list[str]:
    """The `depends=` entry of a module's .modinfo section."""
    match = re.search(rb"(?:^|\0)depends=([^\0]*)\0", data)
    if not match or not match.group(1):
        return []
    return [name.decode().replace("-", "_") for name in match.group(1).split(b",") if name]


def module_load_order(
    wanted: Sequence[str], index: dict[str, Path], builtin: Iterable[str], *, optional: Iterable[str] = ()
) -> list[str]:
    """Modules to insmod, dependencies first; built-in ones are skipped. A wanted module that is
    neither built in nor found is an error unless it is optional."""
    builtin = set(builtin)
    optional = set(optional)
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, required: bool) -> None:
        if name in order or name in builtin:
            return
        if name not in index:
            if required:
                raise UserError(f"the guest kernel has no module {name} and does not build it in")
            return
        if name in visiting:
            raise ToolError(f"kernel module dependency cycle at {name}")
        visiting.add(name)
        for dependency in module_depends(module_bytes(index[name])):
            visit(dependency, True)
        visiting.discard(name)
        order.append(name)

    for name in wanted:
        visit(name, name not in optional)
    return order
