"""The image builders `iocompare image` knows. Each backend adds its builder to BUILDERS."""

from __future__ import annotations

from iocompare.errors import UserError
from iocompare.images.base import ImageBuilder
from iocompare.images.container_image import BUILDERS as CONTAINER_BUILDERS
from iocompare.images.guest import GuestBuilder

# One entry per builder kind; add yours with a single-line edit.
BUILDERS: list[ImageBuilder] = [GuestBuilder(), *CONTAINER_BUILDERS]


def builder(kind: str) -> ImageBuilder:
    for candidate in BUILDERS:
        if candidate.kind == kind:
            return candidate
    known = ", ".join(b.kind for b in BUILDERS) or "none"
    raise UserError(f"unknown image kind {kind!r}", hint=f"known kinds: {known}")
