"""The SQLite store: round trips, one transaction per trial, versioning, refusals."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from builders import (
    make_cell,
    make_direction,
    make_fio_run,
    make_percentiles,
    make_result,
    make_samples,
    make_trial,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare import store as store_pkg
from iocompare.errors import UserError
from iocompare.model import (
    DirectionResult,
    FioResult,
    Pattern,
    Percentiles,
    Sample,
    Trial,
    TrialStatus,
)
from iocompare.store import RunStatus, Store, StoredRun
from iocompare.store.schema import SCHEMA_VERSION

ENVIRONMENTS = [
    ("host", "host", {"kernel": "6.1.0"}),
    ("podman", "container", {"runtime": "crun 1.8"}),
]
CELLS = [
    make_cell(),
    make_cell(
        workload="mixed-70-qd8",
        pattern=Pattern.MIXED_RAND,
        block_size_bytes=64 * 1024,
        iodepth=8,
        numjobs=2,
        read_percent=70,
        direct=False,
    ),
]
TABLES = ("trials", "fio_results", "fio_result_directions", "raw_outputs", "samples")


def new_run(store: Store, name: str = "baseline", cells: list[Any] | None = None) -> int:
    return store.create_run(
        name=name,
        suite_name="quick",
        suite_json='{"name": "quick"}',
        settings={"rounds": 3, "target": "/mnt/scratch", "nested": {"b": 1, "a": [1, 2]}},
        host_facts={"cpu": "EPYC", "kernel": "6.1.0"},
        environments=ENVIRONMENTS,
        cells=CELLS if cells is None else cells,
    )


def record(store: Store, run_id: int, trial: Any, **overrides: Any) -> int:
    fields: dict[str, Any] = {
        "status": TrialStatus.OK,
        "reason": None,
        "started_at": 1_700_000_000.25 + trial.index,
        "ended_at": 1_700_000_036.5 + trial.index,
        "result": make_result(),
        "raw": make_fio_run(),
        "facts": {"fs": "xfs"},
        "samples": make_samples(),
    }
    fields.update(overrides)
    return store.record_trial(run_id, trial, **fields)


def row_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "dir" / "iocompare.db"


def test_round_trip_equals_input(db: Path) -> None:
    mixed_result = make_result(write=True, sync=True, problems=("runtime short", "1 job errored"), error=5)
    write_only = make_result(read=False, write=True, fio_version="fio-3.37")
    sparse_side = make_direction(
        lat_mean_ns=None, lat_min_ns=None, lat_max_ns=None, lat=Percentiles(), clat=Percentiles()
    )
    # A sync section without percentiles is not the same as no sync section.
    sparse_result = make_result(read=False, sync=False, job_count=4, cpu_usr_pct=0.0)
    sparse_result = dataclasses.replace(sparse_result, read=sparse_side, sync=Percentiles())
    trials: list[tuple[Trial, dict[str, Any]]] = [
        (make_trial(0), {"result": make_result()}),
        (
            make_trial(1, cell=CELLS[1], environment="podman", seed=7),
            {"result": mixed_result, "facts": {"cgroup": "v2", "image": "sha256:ab"}},
        ),
        (make_trial(2, round=1, environment="podman"), {"result": sparse_result}),
        (make_trial(3, round=1, cell=CELLS[1]), {"result": write_only, "samples": []}),
        (
            make_trial(4, round=1),
            {
                "status": TrialStatus.FAILED,
                "reason": "fio exited 1",
                "result": None,
                "raw": make_fio_run(output="", stderr="fio: pid=1, err=5/file:io_u.c", exit_code=1),
            },
        ),
        (
            make_trial(5, round=2, environment="podman"),
            {"status": TrialStatus.NOT_APPLICABLE, "reason": "512 B direct IO", "result": None, "raw": None},
        ),
    ]
    with Store.open(db) as store:
        run_id = new_run(store)
        store.update_environment_facts(run_id, "podman", {"version": "4.3.1", "runtime": "crun 1.9"})
        ids = [record(store, run_id, trial, **kw) for trial, kw in trials]
        store.finish_run(run_id, "complete")

    with Store.open(db) as store:  # a fresh connection, nothing cached
        run = store.load_run(run_id)
        assert isinstance(run, StoredRun)
        assert run.info.name == "baseline"
        assert run.info.status is RunStatus.COMPLETE
        assert run.info.finished_at is not None and run.info.finished_at >= run.info.created_at
        assert run.info.environments == ("host", "podman")
        assert (run.info.trials_ok, run.info.trials_total) == (4, 6)
        assert run.suite_json == '{"name": "quick"}'
        assert run.settings == {
            "rounds": 3,
            "target": "/mnt/scratch",
            "nested": {"b": 1, "a": [1, 2]},
        }
        assert run.host_facts == {"cpu": "EPYC", "kernel": "6.1.0"}
        assert run.environments == {
            "host": ("host", {"kernel": "6.1.0"}),
            "podman": ("container", {"runtime": "crun 1.9", "version": "4.3.1"}),
        }
        assert run.cells == CELLS
        assert [t.id for t in run.trials] == ids
        for stored, (trial, kw) in zip(run.trials, trials, strict=True):
            expected_raw = kw.get("raw", make_fio_run())
            assert stored.trial == trial
            assert stored.status == kw.get("status", TrialStatus.OK)
            assert stored.reason == kw.get("reason")
            assert stored.result == kw["result"]
            assert stored.started_at == 1_700_000_000.25 + trial.index
            assert stored.ended_at == 1_700_000_036.5 + trial.index
            assert stored.facts == kw.get("facts", {"fs": "xfs"})
            assert stored.wall_s == (expected_raw.wall_s if expected_raw else None)
            assert stored.fio_exit_code == (expected_raw.exit_code if expected_raw else None)
            assert stored.fio_argv == (expected_raw.argv if expected_raw else None)
            assert store.samples(stored.id) == kw.get("samples", make_samples())
            assert store.raw_output(stored.id) == (expected_raw.output_json if expected_raw else None)
            assert store.raw_output(stored.id, "stderr") == (expected_raw.stderr if expected_raw else None)
        # The rebuilt trials share the rebuilt cells, as the planner's do.
        assert run.trials[0].trial.cell is run.cells[0]
        assert store.run_samples(run_id) == {tid: s for tid in ids if (s := store.samples(tid))}


def test_record_trial_is_atomic_on_a_bad_sample(db: Path) -> None:
    bad = Sample(
        t_s=1.0,
        host_cpu_pct=5.0,
        proc_cpu_pct=None,
        disk_read_bytes="lots",  # type: ignore[arg-type]
        disk_write_bytes=0,
        free_bytes=0,
    )
    with Store.open(db) as store:
        run_id = new_run(store)
        record(store, run_id, make_trial(0))
        before = row_counts(db)
        with pytest.raises(sqlite3.Error):
            record(store, run_id, make_trial(1), samples=[*make_samples(), bad])
        assert row_counts(db) == before
        # Nothing of trial 1 is left behind: the same index records cleanly afterwards.
        record(store, run_id, make_trial(1))
        assert row_counts(db)["trials"] == 2


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_record_trial_rolls_back_midway(db: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    with Store.open(db) as store:
        run_id = new_run(store)

        def explode(text: str) -> tuple[int, bytes]:  # after trial and result rows exist
            raise error

        monkeypatch.setattr(store_pkg.rows, "compress", explode)
        with pytest.raises(type(error)):
            record(store, run_id, make_trial(0), result=make_result(write=True, sync=True))
        assert row_counts(db) == dict.fromkeys(TABLES, 0)
        monkeypatch.undo()
        record(store, run_id, make_trial(0))
        assert store.load_run(run_id).info.trials_total == 1


def test_record_trial_refuses_inconsistent_input(db: Path) -> None:
    with Store.open(db) as store:
        run_id = new_run(store)
        with pytest.raises(ValueError, match="no result"):
            record(store, run_id, make_trial(0), result=None)
        with pytest.raises(ValueError, match="differs"):
            record(store, run_id, make_trial(0, cell=make_cell(iodepth=1)))
        with pytest.raises(ValueError, match="no cell"):
            record(store, run_id, make_trial(0, cell=make_cell(workload="other")))
        with pytest.raises(sqlite3.IntegrityError):  # foreign keys are on
            record(store, run_id, make_trial(0, environment="firecracker"))
        record(store, run_id, make_trial(0))
        with pytest.raises(sqlite3.IntegrityError):  # one row per trial index
            record(store, run_id, make_trial(0))
        assert row_counts(db)["trials"] == 1


def test_newer_schema_is_refused(db: Path) -> None:
    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(UserError) as info:
        Store.open(db)
    assert info.value.message == (
        f"database {db} has schema version {SCHEMA_VERSION + 1}, newer than this iocompare ({SCHEMA_VERSION})"
    )
    assert info.value.hint == "upgrade iocompare or use another --db"


def test_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    content = b"these are my notes, not a database\n" * 100
    path.write_bytes(content)
    with pytest.raises(UserError) as info:
        Store.open(path)
    assert str(path) in info.value.message
    assert path.read_bytes() == content  # untouched


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    with pytest.raises(UserError, match="not an iocompare one"):
        Store.open(path)


def test_open_without_create_needs_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no database at"):
        Store.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_schema_version_wal_and_reopen(db: Path) -> None:
    Store.open(db).close()
    with Store.open(db) as store:  # migrating again is a no-op
        new_run(store)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_resolve_run(db: Path) -> None:
    with Store.open(db) as store:
        with pytest.raises(UserError) as info:
            store.resolve_run("latest")
        assert info.value.message == f"no run 'latest' in {db}"
        first = new_run(store, "first")
        second = new_run(store, "second")
        assert store.resolve_run("latest") == second
        assert store.resolve_run(str(first)) == first
        assert store.resolve_run("first") == first
        assert store.resolve_run(" second ") == second
        for unknown in ("nope", "999"):
            with pytest.raises(UserError) as info:
                store.resolve_run(unknown)
            assert info.value.message == f"no run '{unknown}' in {db}"
            assert info.value.hint == "iocompare runs lists stored runs"


def test_run_names_are_unique_and_unambiguous(db: Path) -> None:
    with Store.open(db) as store:
        new_run(store, "baseline")
        with pytest.raises(UserError, match="already exists"):
            new_run(store, "baseline")
        for bad in ("", "latest", "42"):
            with pytest.raises(UserError):
                new_run(store, bad)
        with pytest.raises(ValueError, match="duplicate cell"):
            new_run(store, "dup", cells=[CELLS[0], CELLS[0]])
        assert [r.name for r in store.list_runs()] == ["baseline"]


def test_list_runs_newest_first_with_counts(db: Path) -> None:
    with Store.open(db) as store:
        old = new_run(store, "old")
        record(store, old, make_trial(0))
        record(store, old, make_trial(1), status=TrialStatus.FAILED, result=None, reason="boom")
        store.finish_run(old, RunStatus.FAILED)
        new = new_run(store, "new")
        runs = store.list_runs()
    assert [(r.id, r.name, r.status) for r in runs] == [
        (new, "new", RunStatus.RUNNING),
        (old, "old", RunStatus.FAILED),
    ]
    assert (runs[1].trials_ok, runs[1].trials_total) == (1, 2)
    assert (runs[0].trials_ok, runs[0].trials_total, runs[0].finished_at) == (0, 0, None)
    assert runs[0].environments == ("host", "podman")


def test_raw_output_is_compressed_and_round_trips(db: Path) -> None:
    output = json.dumps(
        {"jobs": [{"jobname": f"job{i}", "read": {"bw_bytes": 1 << 30, "iops": 262144.0}} for i in range(2000)]},
        indent=2,
    )
    stderr = "fio: note: both iodepth >= 1 and synchronous I/O engine — ignoring\n" * 50
    with Store.open(db) as store:
        run_id = new_run(store)
        trial_id = record(
            store,
            run_id,
            make_trial(0),
            raw=make_fio_run(output=output, stderr=stderr),
            console="Linux version 6.1 µVM\udcff\n" * 100,
        )
        assert store.raw_output(trial_id) == output
        assert store.raw_output(trial_id, "stderr") == stderr
        assert store.raw_output(trial_id, "console") == "Linux version 6.1 µVM\udcff\n" * 100
        with pytest.raises(ValueError):
            store.raw_output(trial_id, "bogus")
    with sqlite3.connect(db) as conn:
        codec, size, blob = conn.execute(
            "SELECT codec, size_bytes, data FROM raw_outputs WHERE kind = 'fio-json'"
        ).fetchone()
    assert codec == "zlib"
    assert size == len(output.encode())
    assert len(blob) * 10 < len(output)


def test_load_run_does_not_query_per_trial(db: Path) -> None:
    def selects_for(trial_count: int, name: str) -> int:
        with Store.open(db) as store:
            run_id = new_run(store, name)
            for i in range(trial_count):
                record(
                    store,
                    run_id,
                    make_trial(i, environment=("host", "podman")[i % 2]),
                    result=make_result(write=True, sync=True),
                    samples=[],
                )
            statements: list[str] = []
            store._conn.set_trace_callback(statements.append)
            run = store.load_run(run_id)
            assert len(run.trials) == trial_count
            return sum(s.lstrip().upper().startswith("SELECT") for s in statements)

    assert selects_for(3, "small") == selects_for(60, "large")


def test_load_unknown_run(db: Path) -> None:
    with Store.open(db) as store, pytest.raises(UserError, match="no run '7'"):
        store.load_run(7)


_floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
_maybe = st.none() | _floats
_count = st.integers(min_value=0, max_value=2**62)
_pcts = st.builds(Percentiles, _maybe, _maybe, _maybe)
_sides = st.none() | st.builds(
    DirectionResult,
    io_bytes=_count,
    bw_bps=_floats,
    iops=_floats,
    runtime_ms=_count,
    total_ios=_count,
    short_ios=_count,
    drop_ios=_count,
    lat_mean_ns=_maybe,
    lat_min_ns=_maybe,
    lat_max_ns=_maybe,
    lat=_pcts,
    clat=_pcts,
)
_results = st.builds(
    FioResult,
    fio_version=st.text(max_size=20),
    read=_sides,
    write=_sides,
    sync=st.none() | _pcts,
    cpu_usr_pct=_floats,
    cpu_sys_pct=_floats,
    error=st.integers(0, 255),
    job_count=st.integers(0, 1024),
    problems=st.lists(st.text(max_size=30), max_size=3).map(tuple),
)

_indexes = itertools.count()


@settings(max_examples=60, deadline=None)
@given(result=_results)
def test_any_result_round_trips(tmp_path_factory: pytest.TempPathFactory, result: FioResult) -> None:
    path = tmp_path_factory.getbasetemp() / "hypothesis.db"
    with Store.open(path) as store:
        runs = store.list_runs()
        run_id = runs[0].id if runs else new_run(store)
        index = next(_indexes)
        trial_id = record(store, run_id, make_trial(index), result=result)
        stored = {t.id: t for t in store.load_run(run_id).trials}[trial_id]
    assert stored.result == result


def test_builders_make_consistent_objects() -> None:
    side = make_direction(iops=1000.0, block_size_bytes=4096)
    assert side.bw_bps == 1000.0 * 4096
    assert make_result(write=True, sync=True).sync == make_percentiles(450_000.0)
