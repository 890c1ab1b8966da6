"""MicroVM variants: how `qemu:fs,cache=writeback,aio=threads` is spelled, parsed and listed.

A variant is a comma-separated list after `kind:`. The token `fs` puts the working set in a
file on an ext4 filesystem made inside the guest; without it fio drives the raw virtio disk.
`key=value` tokens set drive options. Defaults are left out of the name, and tokens come in a
fixed order (`fs` first, then the drive options in the order the VMM lists them), so each
variant has exactly one name: the one `iocompare envs` lists and reports show.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iocompare.errors import UserError

FS_TOKEN = "fs"


@dataclass(frozen=True)
class DriveOption:
    key: str
    values: tuple[str, ...]  # the first one is the default
    meaning: dict[str, str]  # value -> a few words for `iocompare envs`

    @property
    def default(self) -> str:
        return self.values[0]


@dataclass(frozen=True)
class Variant:
    in_guest_fs: bool
    options: tuple[tuple[str, str], ...]  # (key, value) for every option, defaults included

    def get(self, key: str) -> str:
        return dict(self.options)[key]


@dataclass(frozen=True)
class VariantScheme:
    kind: str
    options: tuple[DriveOption, ...]
    # (variant -> reason) for combinations the VMM rejects; None when fine
    conflict: Callable[[Variant], str | None] = lambda _: None

    def parse(self, text: str | None) -> Variant:
        """The variant named by `text` (None: the default), or a one-line UserError naming the bad token."""
        tokens = [token.strip() for token in text.split(",")] if text else []
        in_guest_fs = False
        chosen: dict[str, str] = {}
        known = {option.key: option for option in self.options}
        for token in tokens:
            if token == FS_TOKEN:
                if in_guest_fs:
                    raise UserError(f"{self.kind} variant {text!r}: {FS_TOKEN!r} is given twice")
                in_guest_fs = True
                continue
            key, sep, value = token.partition("=")
            if not sep or key not in known:
                keys = ", ".join(f"{o.key}=" for o in self.options)
                raise UserError(
                    f"{self.kind} variant {text!r}: unsupported option {token!r}",
                    hint=f"use {FS_TOKEN!r} and {keys} (iocompare envs lists every variant)",
                )
            option = known[key]
            if value not in option.values and len(option.values) == 1:
                raise UserError(
                    f"{self.kind} drive option {token!r} is not supported: "
                    f"{self.kind} offers only {key}={option.default}"
                )
            if value not in option.values:
                raise UserError(
                    f"{self.kind} drive option {token!r} is not supported: "
                    f"{key} must be one of {', '.join(option.values)}"
                )
            if key in chosen:
                raise UserError(f"{self.kind} variant {text!r}: {key} is given twice")
            chosen[key] = value
        variant = Variant(in_guest_fs, tuple((o.key, chosen.get(o.key, o.default)) for o in self.options))
        reason = self.conflict(variant)
        if reason is not None:
            raise UserError(f"{self.kind} variant {text!r} is not supported: {reason}")
        return variant

    def name(self, variant: Variant) -> str | None:
        """The variant's canonical text (None for the default variant)."""
        tokens = [FS_TOKEN] if variant.in_guest_fs else []
        for option, (key, value) in zip(self.options, variant.options, strict=True):
            if value != option.default:
                tokens.append(f"{key}={value}")
        return ",".join(tokens) or None

    def check(self, text: str | None) -> None:
        """For a name `iocompare envs` does not list: raise the UserError that says what is wrong."""
        variant = self.parse(text)
        canonical = self.name(variant)
        full = self.kind if canonical is None else f"{self.kind}:{canonical}"
        raise UserError(
            f"unknown environment '{self.kind}:{text}'",
            hint=(
                f"write it as {full} ({FS_TOKEN} first, then {', '.join(o.key for o in self.options)}; "
                "defaults left out)"
            ),
        )

    def all(self) -> list[Variant]:
        variants = []
        for in_guest_fs in (False, True):
            for values in itertools.product(*(option.values for option in self.options)):
                variant = Variant(in_guest_fs, tuple(zip((o.key for o in self.options), values, strict=True)))
                if self.conflict(variant) is None:
                    variants.append(variant)
        return variants

    def describe(self, variant: Variant, base: str) -> str:
        parts = ["file on ext4 made in the guest" if variant.in_guest_fs else "raw virtio disk"]
        for option, (key, value) in zip(self.options, variant.options, strict=True):
            meaning = option.meaning.get(value)
            parts.append(f"{key}={value} ({meaning})" if meaning else f"{key}={value}")
        return f"{base}: " + ", ".join(parts)

    def listing(self, base: str) -> Sequence[tuple[str | None, str]]:
        return [(self.name(variant), self.describe(variant, base)) for variant in self.all()]


def name_for_path(name: str) -> str:
    """An environment name as a file-name component."""
    return "".join(char if char.isalnum() or char in "._-" else "-" for char in name)
