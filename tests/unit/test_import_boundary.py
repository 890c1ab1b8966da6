"""The import's error boundary under hostile files (property-based): whatever a file holds in its
numbers or job options, `iocompare import` stores it whole (exit 0) or refuses it with one line
naming the file (exit 2) and stores nothing; never a traceback, never a half-written run."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from iocompare.cli.main import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fio" / "shapes" / "fio-3.13_randrw_80_16k_jsonplus.json"
DOCUMENT = json.loads(FIXTURE.read_text())
NUMERIC_PATHS = [
    ("jobs", 0, "read", "io_bytes"), ("jobs", 0, "read", "bw_bytes"), ("jobs", 0, "read", "iops"),
    ("jobs", 0, "read", "runtime"), ("jobs", 0, "read", "total_ios"), ("jobs", 0, "write", "short_ios"),
    ("jobs", 0, "read", "clat_ns", "mean"), ("jobs", 0, "read", "clat_ns", "percentile", "50.000000"),
    ("jobs", 0, "write", "lat_ns", "max"), ("jobs", 0, "usr_cpu"), ("jobs", 0, "error"), ("timestamp",),
    ("disk_util", 0, "read_ios"), ("jobs", 0, "sync", "total_ios"),
]  # fmt: skip
OPTIONS = ["bs", "iodepth", "numjobs", "rwmixread", "size", "runtime", "ramp_time", "randseed", "fsync", "offset",
           "direct", "rw", "time_based", "ioengine", "filename"]  # fmt: skip

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
option_text = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,30}[kmgKMG]?", fullmatch=True),
    st.sampled_from(["0", "1", "", "1e30", "nan", "-1", "99999999999999999999999", "4k,8k", "50%", "1000000d"]),
)


def mutate(numbers: list[tuple[tuple[Any, ...], Any]], options: dict[str, str]) -> dict[str, Any]:
    doc = json.loads(json.dumps(DOCUMENT))
    for path, value in numbers:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    doc["jobs"][0]["job options"].update(options)
    return doc


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    numbers=st.lists(st.tuples(st.sampled_from(NUMERIC_PATHS), values), max_size=3),
    options=st.dictionaries(st.sampled_from(OPTIONS), option_text, max_size=3),
)
@example(numbers=[(("jobs", 0, "error"), 2147483648.0)], options={})  # found by this test: os.strerror overflowed
@example(numbers=[], options={"bs": "99999999999999999999999"})  # found by this test: SQLite integer overflow
def test_a_hostile_file_is_stored_whole_or_refused_in_one_line(
    capsys: pytest.CaptureFixture[str], numbers: list[tuple[tuple[Any, ...], Any]], options: dict[str, str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.json"
        path.write_text(json.dumps(mutate(numbers, options)))
        db = Path(tmp) / "r.db"
        code = main(["import", str(path), "--env", "x", "--run", "r", "--db", str(db)])
        err = capsys.readouterr().err
        assert code in (0, 2), err
        event(f"exit {code}")
        assert "Traceback" not in err
        if code == 2:
            assert not db.exists()  # refused before the database was touched
            lines = err.strip().splitlines()  # one line naming the file (issue 13: every bad input gets one line)
            assert len(lines) == 1 and f"nothing was stored: {path}: " in lines[0], err
            return
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 1
            assert conn.execute("SELECT status FROM runs").fetchone()[0] == "complete"
