"""Writing report files whole or not at all. Kept free of heavy imports (matplotlib): every
command that writes a file uses it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from iocompare.errors import UserError


def check_parent(path: Path) -> None:
    if not path.parent.is_dir():
        raise UserError(f"output directory {path.parent} does not exist", hint="create it or pass another --output")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename."""
    check_parent(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        # mkstemp makes 0600; a report is a file to share: the mode any new file gets (0644 under umask 022).
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
