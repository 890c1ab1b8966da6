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


def write_text_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename."""
    check_parent(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
