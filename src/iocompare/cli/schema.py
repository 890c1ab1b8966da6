"""`iocompare schema`: the JSON Schema of a suite file."""

from __future__ import annotations

import json
from typing import Any

import typer

from iocompare.spec.models import Suite


def suite_json_schema() -> dict[str, Any]:
    schema = Suite.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iocompare suite file (TOML)"
    return schema


def schema() -> None:
    """Print the JSON Schema of a suite file."""
    print(json.dumps(suite_json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    app.command("schema")(schema)
