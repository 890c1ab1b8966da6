"""Environment names (`kind` or `kind:variant`) to implementations, what is usable here, and the
image builders `iocompare image` drives."""

from __future__ import annotations

from dataclasses import dataclass

from iocompare.environments.base import Environment, RunContext
from iocompare.environments.container.environment import DockerEnvironment, PodmanEnvironment
from iocompare.environments.container.image import BUILDERS as CONTAINER_BUILDERS
from iocompare.environments.container.network import PodmanNetEnvironment
from iocompare.environments.host import HostEnvironment
from iocompare.environments.image import ImageBuilder
from iocompare.environments.microvm.firecracker import FirecrackerEnvironment
from iocompare.environments.microvm.image import GuestBuilder
from iocompare.environments.microvm.qemu import QemuEnvironment
from iocompare.environments.net.loopback import LoopbackEnvironment
from iocompare.environments.net.netns import NetnsEnvironment
from iocompare.environments.remote import RemoteEnvironment
from iocompare.errors import EnvironmentUnavailable, UserError

# One entry per environment kind; add yours with a single-line edit.
IMPLEMENTATIONS: tuple[type[Environment], ...] = (
    HostEnvironment,
    PodmanEnvironment,
    DockerEnvironment,
    QemuEnvironment,
    FirecrackerEnvironment,
    RemoteEnvironment,
    LoopbackEnvironment,
    NetnsEnvironment,
    PodmanNetEnvironment,
)
KINDS: dict[str, type[Environment]] = {cls.kind: cls for cls in IMPLEMENTATIONS}


@dataclass(frozen=True)
class EnvironmentChoice:
    name: str
    kind: str
    variant: str | None
    description: str
    unavailable_reason: str | None


def split_name(name: str) -> tuple[str, str | None]:
    kind, _, variant = name.partition(":")
    return kind, (variant or None)


def all_choices() -> list[EnvironmentChoice]:
    choices = []
    for kind, cls in KINDS.items():
        for variant, description in cls.variants():
            name = kind if variant is None else f"{kind}:{variant}"
            choices.append(EnvironmentChoice(name, kind, variant, description, cls.unavailable_reason(variant)))
    return choices


def choose(name: str) -> EnvironmentChoice:
    """The named environment, or a UserError listing the known names.

    Only the named one is probed for availability: probing every kind (an engine's smoke
    container, a KVM check) cost a host-only `iocompare run` 0.9 s before its first trial.
    """
    for kind, cls in KINDS.items():
        for variant, description in cls.variants():
            if name == (kind if variant is None else f"{kind}:{variant}"):
                return EnvironmentChoice(name, kind, variant, description, cls.unavailable_reason(variant))
    kind, variant = split_name(name)
    accepts = getattr(KINDS.get(kind), "accepts", None)  # a kind whose variants are open (remote:HOST)
    if accepts is not None and accepts(variant):
        cls = KINDS[kind]
        return EnvironmentChoice(name, kind, variant, cls.description, cls.unavailable_reason(variant))
    check_variant = getattr(KINDS.get(kind), "check_variant", None)
    if check_variant is not None:
        check_variant(variant)  # raises a UserError that names the bad option
    known = ", ".join(choice.name for choice in all_choices())
    raise UserError(f"unknown environment {name!r}", hint=f"known environments: {known} (iocompare envs)")


def create(name: str, context: RunContext) -> Environment:
    choice = choose(name)
    if choice.unavailable_reason is not None:
        raise EnvironmentUnavailable(f"environment {name!r} is unavailable here: {choice.unavailable_reason}")
    return KINDS[choice.kind](name, context)


# One entry per image builder kind; add yours with a single-line edit.
IMAGE_BUILDERS: list[ImageBuilder] = [GuestBuilder(), *CONTAINER_BUILDERS]


def image_builder(kind: str) -> ImageBuilder:
    for candidate in IMAGE_BUILDERS:
        if candidate.kind == kind:
            return candidate
    known = ", ".join(b.kind for b in IMAGE_BUILDERS) or "none"
    raise UserError(f"unknown image kind {kind!r}", hint=f"known kinds: {known}")
