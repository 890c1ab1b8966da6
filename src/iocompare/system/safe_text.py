"""Text that reaches a terminal, and names a user gives, with no byte that steers the terminal.

Stored names, manifests, tools' error messages and file contents are not ours to trust: an ESC
sequence in a run name could recolour, move or hide what iocompare prints, and a right-to-left
override could make `run-1` read as another name. Every terminal write goes through `escape`.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069), marks that reorder text.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# C0 (but newline and tab, which lay out tables), DEL, C1, and the bidi characters above.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(BIDI_CONTROLS)) + "]")

NAME_MAX = 64


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """`text` with every control, DEL, C1 and bidi character written as a visible escape (\\x1b)."""
    return _UNSAFE.sub(_escaped, text)


def name_problem(value: str, *, max_length: int = NAME_MAX) -> str | None:
    """Why `value` cannot be a name or label (None: it can): printable, not blank, bounded."""
    if not value.strip():
        return "it is blank"
    if len(value) > max_length:
        return f"it is {len(value)} characters long (at most {max_length})"
    for char in value:
        if char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return f"it contains the control character U+{ord(char):04X}"
    return None
