"""Shared pytest setup."""

import sys
from pathlib import Path

# src layout: make `iocompare` importable when the package is not installed in the venv.
_SRC = Path(__file__).resolve().parents[1] / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))
