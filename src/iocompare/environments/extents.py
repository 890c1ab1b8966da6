"""Where a file's blocks are on its device (`filefrag -v`, e2fsprogs), recorded as a fact: two
environments that read "the same working set" read the same extents only if these agree."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

from iocompare.errors import IocompareError
from iocompare.system.proc import run

SHOWN_EXTENTS = 8  # the fact names the first ones; the digest covers all of them
# "   0:        0..  262143:   34816..  296959: 262144:             last,eof"
_EXTENT = re.compile(r"^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):")
_BLOCK = re.compile(r"\(\d+ blocks? of (\d+) bytes\)")


def parse_filefrag(text: str) -> tuple[int, list[tuple[int, int, int]]] | None:
    """(block size, [(logical start, physical start, length in blocks)]) from `filefrag -v` output."""
    block = _BLOCK.search(text)
    extents = []
    for line in text.splitlines():
        match = _EXTENT.match(line)
        if match:
            logical, logical_end, physical, _ = (int(g) for g in match.groups())
            extents.append((logical, physical, logical_end - logical + 1))
    if block is None or not extents:
        return None
    return int(block.group(1)), extents


def describe_extents(block_bytes: int, extents: list[tuple[int, int, int]]) -> str:
    """`3 extents of 4096 B blocks (sha256 1a2b3c4d5e6f): 0+262144@34816, ...` (logical+length@physical)."""
    listed = ", ".join(f"{logical}+{length}@{physical}" for logical, physical, length in extents[:SHOWN_EXTENTS])
    more = f", … {len(extents) - SHOWN_EXTENTS} more" if len(extents) > SHOWN_EXTENTS else ""
    digest = hashlib.sha256(repr(extents).encode()).hexdigest()[:12]
    return f"{len(extents)} extents of {block_bytes} B blocks (sha256 {digest}): {listed}{more}"


def file_extents(path: Path) -> str | None:
    """The extents fact of a file, or None where filefrag is missing or cannot map it."""
    filefrag = shutil.which("filefrag")
    if filefrag is None or not path.exists():
        return None
    try:
        done = run([filefrag, "-v", str(path)], timeout_s=60, check=False)
    except IocompareError:
        return None
    parsed = parse_filefrag(done.stdout) if done.exit_code == 0 else None
    return describe_extents(*parsed) if parsed else None


def working_set_facts(path: Path, shared_with: tuple[str, ...] = ()) -> dict[str, str]:
    """The file an environment's working set is (host path) and where its blocks are."""
    facts = {"working_set_file": str(path)}
    if shared_with:
        facts["working_set_shared_with"] = ", ".join(shared_with)
    extents = file_extents(path)
    if extents:
        facts["working_set_extents"] = extents
    return facts
