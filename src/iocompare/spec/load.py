"""Turn a suite name or TOML file into a validated `Suite`, or one clear `UserError` line."""

from __future__ import annotations

import os
import stat
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from iocompare.errors import UserError
from iocompare.spec.models import Suite

BUILTIN_SUITES = ("quick", "standard", "full", "net-quick", "net-standard")
# Suite fields that `iocompare run` options replace, by option.
OVERRIDE_FLAGS = {"runtime_s": "--runtime", "ramp_s": "--ramp", "environments": "--env"}
MAX_SUITE_BYTES = 1 << 20  # the full suite is 3 KiB; anything near this is not a suite


def builtin_suite_text(name: str) -> str:
    return resources.files("iocompare.spec").joinpath("suites", f"{name}.toml").read_text("utf-8")


def load_suite(ref: str, overrides: dict[str, Any] | None = None) -> Suite:
    """`ref` is a built-in suite name or a path to a TOML file; overrides replace top-level fields."""
    if ref in BUILTIN_SUITES:
        source, text = f"built-in suite {ref!r}", builtin_suite_text(ref)
    elif "\0" in ref:
        raise UserError(f"suite {ref!r} is not a usable path: it contains a NUL byte")
    elif ref.endswith(".toml") or "/" in ref or _exists(Path(ref)):
        text = read_suite_file(Path(ref))
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
    except RecursionError:
        raise UserError(f"{source} is not a usable suite: its arrays or tables are nested too deeply") from None
    if not overrides:
        return validate_suite(data, source)
    # The file first, without the fields the command line replaces (they all have defaults), so
    # that an error is blamed on where the value came from: the file, or the flags.
    validate_suite({key: value for key, value in data.items() if key not in overrides}, source)
    flags = ", ".join(OVERRIDE_FLAGS.get(key, key) for key in overrides)
    return validate_suite({**data, **overrides}, f"{source} with {flags}")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, say: not a file we could read either
        return False


def read_suite_file(path: Path) -> str:
    """The text of a suite file: a regular file of at most MAX_SUITE_BYTES, in UTF-8.

    Opened without blocking and checked before reading, so /dev/zero is refused rather than read
    until memory runs out and a FIFO is refused rather than waited on forever."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UserError(
            f"suite file {path} does not exist", hint="give a built-in name: " + ", ".join(BUILTIN_SUITES)
        ) from None
    except OSError as exc:
        raise UserError(f"suite file {path} cannot be read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserError(f"suite file {path} is not a regular file", hint="give a .toml file")
        if info.st_size > MAX_SUITE_BYTES:
            raise UserError(f"suite file {path} is {info.st_size} bytes, more than the limit of {MAX_SUITE_BYTES}")
        data = os.read(fd, MAX_SUITE_BYTES + 1)  # the file may have grown since fstat
    except OSError as exc:
        raise UserError(f"suite file {path} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SUITE_BYTES:
        raise UserError(f"suite file {path} is more than the limit of {MAX_SUITE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"suite file {path} is not UTF-8: byte {exc.start} is {data[exc.start]:#04x}") from None


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
