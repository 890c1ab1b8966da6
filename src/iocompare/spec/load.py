"""Turn a suite name or TOML file into a validated `Suite`, or one clear `UserError` line."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iocompare.errors import UserError
from iocompare.spec.models import Suite

BUILTIN_SUITES = ("quick", "standard", "full")


def builtin_suite_text(name: str) -> str:
    return resources.files("iocompare.spec").joinpath("suites", f"{name}.toml").read_text("utf-8")


def load_suite(ref: str, overrides: dict[str, Any] | None = None) -> Suite:
    """`ref` is a built-in suite name or a path to a TOML file; overrides replace top-level fields."""
    if ref in BUILTIN_SUITES:
        source, text = f"built-in suite {ref!r}", builtin_suite_text(ref)
    elif ref.endswith(".toml") or "/" in ref or Path(ref).exists():
        path = Path(ref)
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise UserError(
                f"suite file {ref} does not exist", hint="give a built-in name: " + ", ".join(BUILTIN_SUITES)
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"suite file {ref} cannot be read: {exc}") from None
        source = f"suite file {ref}"
    else:
        raise UserError(
            f"unknown suite {ref!r}",
            hint=f"built-in suites are {', '.join(BUILTIN_SUITES)}; or give a path to a .toml file",
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source} is not valid TOML: {exc}") from None
    data.update(overrides or {})
    return validate_suite(data, source)


def validate_suite(data: dict[str, Any], source: str) -> Suite:
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise UserError(
            f"{source}: {describe_validation_error(exc, data)}", hint="iocompare schema prints the suite file format"
        ) from None


def describe_validation_error(exc: ValidationError, data: dict[str, Any]) -> str:
    """The first problem as `field workloads[1].block_sizes[0] = '3k': reason`, one line."""
    error = exc.errors(include_url=False)[0]
    location = _format_location(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"field {location} is required"
    if error["type"] == "extra_forbidden":
        return f"unknown field {location}"
    value = _lookup(data, error["loc"])
    shown = f" = {value!r}" if value is not _MISSING else ""
    return f"field {location}{shown}: {message}" if location else message


_MISSING = object()


def _format_location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif text:
            text += f".{part}"
        else:
            text = str(part)
    return text


def _lookup(data: Any, loc: tuple[Any, ...]) -> Any:
    current = data
    for part in loc:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return current
