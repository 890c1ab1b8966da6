"""Locate fio and check its version before anything runs."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from iocompare.errors import ToolError, UserError
from iocompare.system.proc import run

MIN_VERSION = (3, 0)
_VERSION_RE = re.compile(r"fio-(\d+)\.(\d+)")


@dataclass(frozen=True)
class FioBinary:
    path: str
    version: str  # as fio prints it, e.g. "fio-3.33"

    @property
    def version_tuple(self) -> tuple[int, int]:
        return parse_version(self.version)


def parse_version(text: str) -> tuple[int, int]:
    match = _VERSION_RE.search(text)
    if not match:
        raise UserError(f"cannot read fio's version from {text.strip()!r}", hint="install fio 3.x")
    return int(match.group(1)), int(match.group(2))


def find_fio(path: str | None = None) -> FioBinary:
    """The fio to use everywhere; UserError when it is missing or older than 3.0."""
    resolved = shutil.which(path or "fio")
    if resolved is None:
        raise UserError(
            f"fio not found ({path or 'fio'} is not on PATH)",
            hint="apt-get install fio (or pass --fio PATH)",
        )
    try:
        version = run([resolved, "--version"], timeout_s=30).stdout.strip()
    except ToolError as exc:
        # A --fio that is not fio (or cannot start) is bad input, named as given.
        first_line = exc.message.strip().splitlines()[0] if exc.message.strip() else "it failed"
        raise UserError(f"--fio {path or 'fio'} is not a usable fio: {first_line}", hint="install fio 3.x") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--fio {path or 'fio'} is not a usable fio: {exc}", hint="install fio 3.x") from None
    if parse_version(version) < MIN_VERSION:
        raise UserError(f"fio version {version} is older than 3.0", hint="install fio 3.x")
    return FioBinary(resolved, version)
