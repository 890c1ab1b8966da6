"""The suite validator is exactly as strict as the published schema (`iocompare schema`)."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from suite_documents import mutated_suites, toml_text, valid_suites

from iocompare.cli.schema import suite_json_schema
from iocompare.errors import UserError
from iocompare.spec.load import load_suite
from iocompare.spec.models import Suite

SCHEMA = suite_json_schema()


def _toml_integer(_checker: object, instance: object) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# JSON Schema counts 1.0 as an integer; a suite is TOML, where 1.0 is a float and an integer is
# written 1. The schema is read with TOML's types, as the validator reads the file.
TomlValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _toml_integer),
)
VALIDATOR = TomlValidator(SCHEMA)

# Rules that relate fields to each other (or bound a size spelled as a string); a JSON Schema
# cannot say them, so only the validator enforces them. Each is named by its message.
CROSS_FIELD_RULES = (
    "appears twice",
    "environments list has duplicates",
    "is below repeat",
    "read_percent applies only to mixed patterns",
    "size must be at most",
)

BASE: dict[str, Any] = {"name": "t", "workloads": [{"name": "w", "pattern": "rand-read"}]}


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    target: Any = doc
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value
    return doc


# The bad inputs of issue 13, item 8, and their neighbours: each rejected by the schema and by the validator.
TYPE_ERRORS = [
    (("workloads", 0, "iodepth"), True),
    (("workloads", 0, "iodepth"), "8"),
    (("workloads", 0, "iodepth"), 0),
    (("workloads", 0, "numjobs"), True),
    (("workloads", 0, "block_sizes"), []),
    (("workloads", 0, "block_sizes"), [" 4k"]),
    (("workloads", 0, "block_sizes"), ["3k"]),
    (("workloads", 0, "block_sizes"), [True]),
    (("repeat",), True),
    (("runtime_s",), "1"),
    (("direct",), "yes"),
    (("direct",), 1),
    (("references",), "true"),
    (("working_set", "size"), "0"),
    (("working_set", "size"), 0),
    (("working_set", "size"), "1.5g"),
    (("working_set", "cache_multiple"), float("inf")),
    (("working_set", "cache_multiple"), "2"),
    (("target",), ""),
    (("environments",), []),
    (("description",), 3),
]


@pytest.mark.parametrize(("path", "value"), TYPE_ERRORS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in TYPE_ERRORS])
def test_wrong_types_are_refused_by_schema_and_validator(tmp_path, path, value):
    doc = _with(path, value)
    assert not VALIDATOR.is_valid(doc), "the schema accepts it"
    suite = tmp_path / "suite.toml"
    suite.write_text(toml_text(doc))
    with pytest.raises(UserError) as info:
        load_suite(str(suite))
    message = info.value.one_line()
    assert "\n" not in message
    assert str(path[-1]) in message  # names the field


def test_workload_without_block_sizes_uses_the_suites_and_an_empty_list_is_refused():
    suite = Suite.model_validate({**BASE, "block_sizes": ["1m"]})
    assert suite.block_sizes_of(suite.workloads[0]) == [1 << 20]
    with pytest.raises(ValidationError, match="at least 1 item"):
        Suite.model_validate(_with(("workloads", 0, "block_sizes"), []))


def _verdicts(doc: dict[str, Any]) -> tuple[bool, str | None]:
    schema_ok = VALIDATOR.is_valid(doc)
    try:
        Suite.model_validate(doc)
    except ValidationError as exc:
        return schema_ok, str(exc)
    return schema_ok, None


def _check_agreement(doc: dict[str, Any]) -> None:
    schema_ok, error = _verdicts(doc)
    if not schema_ok:
        assert error is not None, f"the validator accepts what the schema rejects: {json.dumps(doc)}"
    elif error is not None:
        assert any(rule in error for rule in CROSS_FIELD_RULES), f"schema accepts, validator says: {error}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(valid_suites(), mutated_suites()))
def test_schema_and_validator_agree_on_generated_documents(doc):
    _check_agreement(doc)


@settings(max_examples=60, deadline=None)
@given(valid_suites())
def test_generated_valid_documents_are_accepted_by_both(doc):
    assert _verdicts(doc) == (True, None)


def test_schema_and_validator_agree_on_the_corpus():
    corpus = [_with(path, value) for path, value in TYPE_ERRORS]
    corpus += [
        BASE,
        _with(("workloads", 0, "iodepth"), "auto"),
        _with(("workloads", 0, "iodepth"), 1024),
        _with(("workloads", 0, "block_sizes"), ["512", "4KiB", "64mb", 67108864]),
        _with(("working_set", "size"), "0001g"),
        _with(("working_set", "cache_multiple"), 2),
        _with(("workloads", 0, "block_sizes"), ["128m"]),
        _with(("extra",), 1),
        _with(("ramp_s",), 1.0),
        _with(("working_set", "size"), 1.0),
        _with(("workloads", 0, "iodepth"), 4.0),
    ]
    for doc in corpus:
        _check_agreement(doc)
