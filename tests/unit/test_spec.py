import json
import tomllib

import jsonschema
import pytest

from iocompare.cli.schema import suite_json_schema
from iocompare.errors import UserError
from iocompare.model import Pattern
from iocompare.spec.load import BUILTIN_SUITES, builtin_suite_text, load_suite

MINIMAL = """
name = "t"
[[workloads]]
name = "rr"
pattern = "rand-read"
"""


def write_suite(tmp_path, text):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return str(path)


def error_of(tmp_path, text):
    with pytest.raises(UserError) as info:
        load_suite(write_suite(tmp_path, text))
    return info.value.message


def test_minimal_suite_gets_documented_defaults(tmp_path):
    suite = load_suite(write_suite(tmp_path, MINIMAL))
    assert suite.runtime_s == 30 and suite.ramp_s == 5 and suite.repeat == 5 and suite.max_repeat == 20
    assert suite.direct is True and suite.ioengine.value == "libaio"
    assert suite.block_sizes == [4096]
    assert suite.environments == ["host"]
    assert suite.workloads[0].depth_for(4096) == 32
    assert suite.workloads[0].depth_for(1 << 20) == 16


def test_builtin_suites_have_the_promised_cells():
    quick = load_suite("quick")
    cells = {(w.name, tuple(quick.block_sizes_of(w))) for w in quick.workloads}
    assert cells == {
        ("seq-write", (1 << 20,)),
        ("rand-read-qd1", (4096,)),
        ("flush-probe", (4096,)),
    }
    # The quickstart runs it in three environments within its budget (README): fio alone <= 1 min each.
    assert quick.repeat * len(cells) * (quick.runtime_s + quick.ramp_s) <= 45
    assert quick.repeat == quick.max_repeat == 5  # fixed, and the fewest trials with which a verdict is possible
    standard = load_suite("standard")
    assert len(standard.workloads) == 17
    assert standard.block_sizes == [512, 4096, 64 << 10, 1 << 20]
    full = load_suite("full")
    assert full.block_sizes == [512, 4096, 64 << 10, 1 << 20, 2 << 20, 8 << 20]
    assert {w.pattern for w in full.workloads} == {p for p in Pattern if not p.network}


@pytest.mark.parametrize("name", BUILTIN_SUITES)
def test_builtin_suites_validate_against_the_published_json_schema(name):
    jsonschema.validate(tomllib.loads(builtin_suite_text(name)), suite_json_schema())


def test_schema_rejects_what_the_models_reject():
    schema = suite_json_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "workloads": [{"name": "a", "pattern": "diagonal"}]}, schema)
    json.dumps(schema)  # serialisable


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('pattern = "diagonal"', "field workloads[0].pattern = 'diagonal'"),
        (
            'pattern = "rand-read"\nblock_sizes = ["3k"]',
            "field workloads[0].block_sizes[0] = '3k': block size 3072 B must be a power of two",
        ),
        ('pattern = "rand-read"\nblock_sizes = [256]', "field workloads[0].block_sizes[0] = 256"),
        ('pattern = "rand-read"\nblock_sizes = ["128m"]', "64 MiB"),
        ('pattern = "rand-read"\nread_percent = 70', "read_percent applies only to mixed patterns"),
        (
            'pattern = "rand-read"\niodepth = 0',
            "field workloads[0].iodepth = 0: iodepth must be an integer from 1 to 1024",
        ),
        ('pattern = "rand-read"\ncolour = "red"', "unknown field workloads[0].colour"),
    ],
)
def test_bad_workloads_name_field_and_value(tmp_path, fragment, expected):
    text = f'name = "t"\n[[workloads]]\nname = "w"\n{fragment}\n'
    assert expected in error_of(tmp_path, text)


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ("runtime_s = 0", "field runtime_s = 0: Input should be greater than 0"),
        ("runtime_s = -5", "field runtime_s = -5"),
        ("ramp_s = -1", "field ramp_s = -1"),
        ('direct = "maybe"', "field direct = 'maybe'"),
        ('ioengine = "spdk"', "field ioengine = 'spdk'"),
    ],
)
def test_bad_top_level_fields(tmp_path, top, expected):
    assert expected in error_of(tmp_path, f'name = "t"\n{top}\n[[workloads]]\nname = "w"\npattern = "seq-read"\n')


def test_malformed_toml_is_one_line(tmp_path):
    message = error_of(tmp_path, 'name = "t\n')
    assert "is not valid TOML" in message and "\n" not in message


def test_missing_workloads_and_duplicates(tmp_path):
    assert "field workloads is required" in error_of(tmp_path, 'name = "t"\n')
    dup = MINIMAL + '[[workloads]]\nname = "rr"\npattern = "seq-read"\n'
    assert "workload name 'rr' appears twice" in error_of(tmp_path, dup)


def test_unknown_suite_and_missing_file(tmp_path):
    with pytest.raises(UserError, match="unknown suite 'nope'"):
        load_suite("nope")
    with pytest.raises(UserError, match="does not exist"):
        load_suite(str(tmp_path / "absent.toml"))


def test_overrides_are_validated_too():
    with pytest.raises(UserError, match="field repeat = 0"):
        load_suite("quick", {"repeat": 0})
    assert load_suite("quick", {"runtime_s": 3}).runtime_s == 3
