"""The SQLite store: one database file holds every run; one transaction per trial."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from iocompare.errors import UserError
from iocompare.model import Cell, FioResult, FioRun, Sample, Trial, TrialStatus
from iocompare.store import integrity, load, rows, schema
from iocompare.store.records import RunInfo, RunStatus, StoredRun
from iocompare.system.identity import ProcessIdentity
from iocompare.system.safe_text import name_problem

BUSY_TIMEOUT_MS = 10_000
RAW_KINDS = ("fio-json", "stderr", "console")
_RUNS_HINT = "iocompare runs lists stored runs"


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that writes nothing. A writable file is opened as usual (so the last
    connection removes the -wal/-shm files SQLite keeps beside a database in WAL mode) and only
    read; a file nobody can write (immutable, read-only filesystem) is opened `immutable`, so
    SQLite creates no -wal/-shm files there; `mode=ro` if a -wal file still holds commits."""
    if integrity.writable(path):
        return sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    uri = "file:" + urllib.parse.quote(str(path.absolute())) + "?mode=ro"
    if not path.with_name(path.name + "-wal").exists():
        uri += "&immutable=1"
    return sqlite3.connect(uri, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, uri=True)


RUN_NAME_MAX = 80  # a suite name (at most 64) and the run's tag make the default name


def check_run_name(name: str) -> None:
    """A run name can be told from a run id and from 'latest' (run references accept all three),
    and prints as itself: printable, bounded, no control or bidi-override character."""
    problem = name_problem(name, max_length=RUN_NAME_MAX)
    if problem is not None:
        raise UserError(f"run name {name[:40]!r} is not usable: {problem}")
    if name.strip() != name or name == "latest" or name.isdigit():
        raise UserError(
            f"run name {name!r} is not usable",
            hint="a run name must not be empty, 'latest', only digits, or start or end with a space",
        )


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise UserError(f"database {path} is damaged: {'; '.join(problems)}", hint="use another --db")


class Store:
    """An open iocompare database. Use `Store.open(path)`, preferably as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._cells: dict[int, dict[str, tuple[int, Cell]]] = {}  # run id -> key -> (id, cell)
        self.writable = True  # False when opened read-only

    @classmethod
    def open(cls, path: Path, *, create: bool = True, readonly: bool = False) -> Store:
        """Open (and with `create`, create) the database, migrating it to SCHEMA_VERSION.

        `readonly` (report, export, compare, runs): the file must already be a database of this
        version; it is neither created nor migrated, and opening it writes nothing."""
        path = Path(path)
        if sqlite3.sqlite_version_info < schema.MIN_SQLITE:
            raise UserError(
                f"SQLite {sqlite3.sqlite_version} is too old for the iocompare database",
                hint="use a Python built against SQLite 3.37 or newer",
            )
        if not create and not readonly and not path.exists():
            raise UserError(f"no database at {path}", hint="run a suite first or pass --db")
        integrity.check_file(path, readonly=readonly)
        try:
            if readonly:
                conn = _connect_readonly(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open database {path}: {exc}", hint="use another --db") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Version first: it is the first read, so it also rejects non-databases before
            # switching the journal mode writes anything to the file.
            version = schema.check_version(conn, path)
            if readonly:
                if version != schema.SCHEMA_VERSION:
                    raise UserError(
                        f"database {path} has no iocompare tables (schema version {version})",
                        hint="a run or an import creates them; or use another --db",
                    )
            else:
                conn.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL cannot corrupt the file; it may lose the last commit on power loss.
                conn.execute("PRAGMA synchronous = NORMAL")
                schema.migrate(conn, path)
            conn.execute("PRAGMA foreign_keys = ON")
            integrity.check_tables(conn, path)
            if not readonly and version:
                _quick_check(conn, path)  # before a run or an import stores anything into it
        except UserError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
                raise UserError(f"{path} is not an SQLite database", hint="use another --db") from exc
            raise UserError(f"cannot open database {path}: {exc}", hint="use another --db") from exc
        store = cls(conn, path)
        store.writable = not readonly
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[Store]:
        """Every write inside is one transaction: all of it is stored, or none (`iocompare import`).
        Not for runs: those commit each trial, so a crash keeps the finished ones."""
        cached = dict(self._cells)
        try:
            with self._tx():
                self._in_batch = True
                try:
                    yield self
                finally:
                    self._in_batch = False
        except BaseException:
            self._cells = cached  # ids of rolled-back cells must not be reused
            raise

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if getattr(self, "_in_batch", False):
            yield self._conn  # the enclosing batch commits or rolls back
            return
        # IMMEDIATE takes the write lock up front, so a busy database waits here (busy_timeout)
        # rather than failing halfway through a trial's inserts.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    # -- writing ------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        name: str,
        suite_name: str,
        suite_json: str,
        settings: Mapping[str, Any],
        host_facts: Mapping[str, str],
        environments: Sequence[tuple[str, str, Mapping[str, str]]],
        cells: Sequence[Cell],
        created_at: float | None = None,
    ) -> int:
        """Store a new run with its environments and cells, status 'running'. Returns its id."""
        check_run_name(name)
        env_names = [env[0] for env in environments]
        if len(set(env_names)) != len(env_names):
            raise ValueError(f"duplicate environment names: {env_names}")
        keys = [cell.key for cell in cells]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate cell keys: {keys}")
        with self._tx() as conn:
            self.check_name_free(name)
            run_id = conn.execute(
                "INSERT INTO runs (name, created_at, status, suite_name, suite_json,"
                " settings_json, host_facts_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    time.time() if created_at is None else created_at,
                    RunStatus.RUNNING.value,
                    suite_name,
                    suite_json,
                    rows.dumps(dict(settings)),
                    rows.dumps(dict(host_facts)),
                ),
            ).lastrowid
            assert run_id is not None
            conn.executemany(
                "INSERT INTO run_environments (run_id, name, position, kind, facts_json) VALUES (?, ?, ?, ?, ?)",
                [
                    (run_id, env_name, position, kind, rows.dumps(dict(facts)))
                    for position, (env_name, kind, facts) in enumerate(environments)
                ],
            )
            by_key: dict[str, tuple[int, Cell]] = {}
            for cell in cells:
                cur = conn.execute(
                    f"INSERT INTO cells (run_id, key, {rows.columns(rows.CELL_COLUMNS)})"
                    f" VALUES (?, ?, {rows.placeholders(len(rows.CELL_COLUMNS))})",
                    (run_id, cell.key, *rows.cell_row(cell)),
                )
                assert cur.lastrowid is not None
                by_key[cell.key] = (cur.lastrowid, cell)
        self._cells[run_id] = by_key
        return run_id

    def add_environment(self, run_id: int, name: str, kind: str, facts: Mapping[str, str]) -> None:
        """Another environment of an existing run (an import joining an imported run), planned last."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM run_environments WHERE run_id = ? AND name = ?", (run_id, name)).fetchone():
                raise ValueError(f"run {run_id} already has an environment {name!r}")
            position = conn.execute(
                "SELECT coalesce(max(position), -1) + 1 FROM run_environments WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO run_environments (run_id, name, position, kind, facts_json) VALUES (?, ?, ?, ?, ?)",
                (run_id, name, position, kind, rows.dumps(dict(facts))),
            )

    def add_cells(self, run_id: int, cells: Sequence[Cell]) -> None:
        """Cells an existing run did not have yet; a key the run already has is refused."""
        by_key = dict(self._cell_ids(run_id))  # a new dict: batch() restores the old one on a rollback
        with self._tx() as conn:
            for cell in cells:
                if cell.key in by_key:
                    raise ValueError(f"run {run_id} already has a cell {cell.key!r}")
                cur = conn.execute(
                    f"INSERT INTO cells (run_id, key, {rows.columns(rows.CELL_COLUMNS)})"
                    f" VALUES (?, ?, {rows.placeholders(len(rows.CELL_COLUMNS))})",
                    (run_id, cell.key, *rows.cell_row(cell)),
                )
                assert cur.lastrowid is not None
                by_key[cell.key] = (cur.lastrowid, cell)
        self._cells[run_id] = by_key

    def check_name_free(self, name: str) -> None:
        """UserError if a stored run already has this name."""
        if self._conn.execute("SELECT 1 FROM runs WHERE name = ?", (name,)).fetchone():
            raise UserError(
                f"a run named '{name}' already exists in {self.path}", hint="choose another run name; " + _RUNS_HINT
            )

    def update_environment_facts(self, run_id: int, name: str, facts: Mapping[str, str]) -> None:
        """Merge facts learned once the environment is up (new values win)."""
        with self._tx() as conn:
            row = conn.execute(
                "SELECT facts_json FROM run_environments WHERE run_id = ? AND name = ?",
                (run_id, name),
            ).fetchone()
            if row is None:
                raise ValueError(f"run {run_id} has no environment {name!r}")
            merged = {**rows.loads(row[0]), **facts}
            conn.execute(
                "UPDATE run_environments SET facts_json = ? WHERE run_id = ? AND name = ?",
                (rows.dumps(merged), run_id, name),
            )

    def record_trial(
        self,
        run_id: int,
        trial: Trial,
        *,
        status: TrialStatus,
        reason: str | None,
        started_at: float,
        ended_at: float,
        result: FioResult | None,
        raw: FioRun | None,
        facts: Mapping[str, str],
        samples: Sequence[Sample],
        console: str | None = None,
    ) -> int:
        """Store one trial with its result, raw output and samples: all rows or none."""
        status = TrialStatus(status)
        if status is TrialStatus.OK and result is None:
            raise ValueError(f"trial {trial.index} is 'ok' but has no result")
        cell_id, stored_cell = self._cell(run_id, trial.cell.key)
        if stored_cell != trial.cell:
            raise ValueError(f"trial {trial.index}: cell {trial.cell.key} differs from the run's")
        with self._tx() as conn:
            trial_id = conn.execute(
                "INSERT INTO trials (run_id, cell_id, environment, round, trial_index, seed,"
                " status, reason, started_at, ended_at, wall_s, fio_exit_code, fio_argv_json,"
                " facts_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    cell_id,
                    trial.environment,
                    trial.round,
                    trial.index,
                    trial.seed,
                    status.value,
                    reason,
                    started_at,
                    ended_at,
                    raw.wall_s if raw else None,
                    raw.exit_code if raw else None,
                    rows.dumps(list(raw.argv)) if raw else None,
                    rows.dumps(dict(facts)),
                ),
            ).lastrowid
            if result is not None:
                conn.execute(
                    f"INSERT INTO fio_results (trial_id, {rows.columns(rows.RESULT_COLUMNS)})"
                    f" VALUES (?, {rows.placeholders(len(rows.RESULT_COLUMNS))})",
                    (trial_id, *rows.result_row(result)),
                )
                conn.executemany(
                    "INSERT INTO fio_result_directions (trial_id, direction,"
                    f" {rows.columns(rows.DIRECTION_COLUMNS)})"
                    f" VALUES (?, ?, {rows.placeholders(len(rows.DIRECTION_COLUMNS))})",
                    [
                        (trial_id, direction, *rows.direction_row(side))
                        for direction, side in (("read", result.read), ("write", result.write))
                        if side is not None
                    ],
                )
            outputs: dict[str, str | None] = {"console": console}
            if raw is not None:
                outputs.update({"fio-json": raw.output_json, "stderr": raw.stderr})
            conn.executemany(
                "INSERT INTO raw_outputs (trial_id, kind, codec, size_bytes, data) VALUES (?, ?, ?, ?, ?)",
                [
                    (trial_id, kind, rows.CODEC, *rows.compress(text))
                    for kind, text in outputs.items()
                    if text is not None
                ],
            )
            conn.executemany(
                f"INSERT INTO samples (trial_id, {rows.columns(rows.SAMPLE_COLUMNS)})"
                f" VALUES (?, {rows.placeholders(len(rows.SAMPLE_COLUMNS))})",
                [(trial_id, *rows.sample_row(sample)) for sample in samples],
            )
        assert trial_id is not None
        return trial_id

    def finish_run(self, run_id: int, status: RunStatus | str) -> None:
        status = RunStatus(status)
        if status is RunStatus.RUNNING:
            raise ValueError("a run cannot finish as 'running'")
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?",
                (status.value, time.time(), run_id),
            )
            if cur.rowcount != 1:
                raise ValueError(f"no run {run_id} in {self.path}")

    def reopen_run(self, run_id: int) -> None:
        """Mark an interrupted or failed run as running again (`iocompare run --resume`)."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, finished_at = NULL WHERE id = ?", (RunStatus.RUNNING.value, run_id)
            )
            if cur.rowcount != 1:
                raise UserError(f"no run '{run_id}' in {self.path}", hint=_RUNS_HINT)

    def update_run_settings(self, run_id: int, updates: Mapping[str, Any]) -> None:
        """Merge `updates` into a run's settings (e.g. the adaptive stopping decisions)."""
        with self._tx() as conn:
            row = conn.execute("SELECT settings_json FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise ValueError(f"no run {run_id} in {self.path}")
            settings = {**json.loads(row[0]), **updates}
            conn.execute(
                "UPDATE runs SET settings_json = ? WHERE id = ?", (json.dumps(settings, sort_keys=True), run_id)
            )

    def interrupt_dead_runs(self) -> list[int]:
        """Runs still marked running whose process is gone become 'interrupted' (and resumable);
        returns their ids. Only commands that recover (run, and recovery after a SIGKILL) call it."""
        dead = []
        for run_id, settings in self.running_runs():
            owner = ProcessIdentity.from_settings(settings)
            if owner is not None and owner.start_time is not None and owner.is_running():
                continue
            self.finish_run(run_id, RunStatus.INTERRUPTED)
            dead.append(run_id)
        return dead

    def running_runs(self) -> list[tuple[int, dict[str, Any]]]:
        """(run id, settings) of runs still marked running: live, or left by a killed process."""
        found = self._conn.execute("SELECT id, settings_json FROM runs WHERE status = ?", (RunStatus.RUNNING.value,))
        return [(int(row[0]), json.loads(row[1])) for row in found.fetchall()]

    def _cell_ids(self, run_id: int) -> dict[str, tuple[int, Cell]]:
        if run_id not in self._cells:
            found = self._conn.execute(
                f"SELECT id, {rows.columns(rows.CELL_COLUMNS)} FROM cells WHERE run_id = ?",
                (run_id,),
            ).fetchall()
            self._cells[run_id] = {cell.key: (row[0], cell) for row in found for cell in [rows.cell_from_row(row[1:])]}
        return self._cells[run_id]

    def _cell(self, run_id: int, key: str) -> tuple[int, Cell]:
        try:
            return self._cell_ids(run_id)[key]
        except KeyError:
            raise ValueError(f"run {run_id} has no cell {key!r}") from None

    # -- reading ------------------------------------------------------------------------------

    def list_runs(self) -> list[RunInfo]:
        """Every stored run, newest first."""
        return load.run_infos(self._conn, None)

    def resolve_run(self, ref: str) -> int:
        """'latest', a run id or a run name -> run id."""
        ref = ref.strip()
        row = None
        if ref == "latest":
            row = self._conn.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        elif ref.isascii() and ref.isdigit() and int(ref) < 1 << 63:  # larger is no SQLite INTEGER
            row = self._conn.execute("SELECT id FROM runs WHERE id = ?", (int(ref),)).fetchone()
        if row is None and ref:
            row = self._conn.execute("SELECT id FROM runs WHERE name = ?", (ref,)).fetchone()
        if row is None:
            raise UserError(f"no run '{ref}' in {self.path}", hint=_RUNS_HINT)
        return int(row[0])

    def load_run(self, run_id: int) -> StoredRun:
        """The whole run, rebuilt from a handful of bulk queries (not one per trial)."""
        run = load.load_run(self._conn, run_id)
        if run is None:
            raise UserError(f"no run '{run_id}' in {self.path}", hint=_RUNS_HINT)
        return run

    def raw_output(self, trial_id: int, kind: str = "fio-json") -> str | None:
        """A trial's raw output ('fio-json', 'stderr' or 'console'), decompressed."""
        if kind not in RAW_KINDS:
            raise ValueError(f"unknown raw output kind {kind!r}; known: {', '.join(RAW_KINDS)}")
        row = self._conn.execute(
            "SELECT codec, data FROM raw_outputs WHERE trial_id = ? AND kind = ?", (trial_id, kind)
        ).fetchone()
        return None if row is None else rows.decompress(row[0], row[1])

    def samples(self, trial_id: int) -> list[Sample]:
        """A trial's monitor samples in time order."""
        return load.samples(self._conn, trial_id)

    def run_samples(self, run_id: int) -> dict[int, list[Sample]]:
        """Every sample of a run in one query: trial id -> samples in time order."""
        return load.run_samples(self._conn, run_id)
