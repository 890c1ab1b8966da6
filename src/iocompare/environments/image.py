"""The interface every image builder implements, so `iocompare image` can drive them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # the builder's kind, e.g. "podman", "docker", "guest"
    name: str  # image tag or cache entry name, as `iocompare image rm` accepts it
    content_hash: str  # of everything the image was built from; equal hash = no rebuild
    size_bytes: int
    created_at: float  # epoch seconds
    details: dict[str, str] = field(default_factory=dict)  # fio version, kernel version, ...


class ImageBuilder(Protocol):
    kind: str

    def unavailable_reason(self) -> str | None:
        """None when this builder can work here; otherwise why not, in one line."""

    def build(self, *, force: bool = False, progress: Callable[[str], None] = lambda _: None) -> ImageInfo:
        """Build (or reuse, when the content hash matches and not force) and return the image."""

    def list(self) -> Sequence[ImageInfo]:
        """Images of this kind that iocompare built."""

    def remove(self, name: str | None = None) -> Sequence[str]:
        """Remove one image (by name) or all of this kind; return what was removed."""
