"""The versioned SQLite schema and its migrations.

The version lives in `PRAGMA user_version` (an integer in the database header), so it is read
without touching any table and is changed in the same transaction as the migration itself.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from iocompare.errors import UserError

# Schema history (bump SCHEMA_VERSION and append a Migration; never edit a released one):
#   1  initial schema: runs, run_environments, cells, trials, fio_results,
#      fio_result_directions, raw_outputs (zlib), samples.
SCHEMA_VERSION = 1

# Written once by migration 1 so that `file(1)` and we can tell our databases from others.
# The four bytes spell "ioCm".
APPLICATION_ID = 0x696F436D

# STRICT tables (type-checked columns) need SQLite 3.37 (2021-11).
MIN_SQLITE = (3, 37, 0)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


_V1 = (
    f"PRAGMA application_id = {APPLICATION_ID}",
    """
    CREATE TABLE runs (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        created_at      REAL NOT NULL,
        finished_at     REAL,
        status          TEXT NOT NULL
                        CHECK (status IN ('running', 'complete', 'failed', 'interrupted')),
        suite_name      TEXT NOT NULL,
        suite_json      TEXT NOT NULL,
        settings_json   TEXT NOT NULL,
        host_facts_json TEXT NOT NULL
    ) STRICT
    """,
    """
    CREATE TABLE run_environments (
        run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        position   INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        facts_json TEXT NOT NULL,
        PRIMARY KEY (run_id, name)
    ) STRICT
    """,
    """
    CREATE TABLE cells (
        id                INTEGER PRIMARY KEY,
        run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        key               TEXT NOT NULL,
        workload          TEXT NOT NULL,
        pattern           TEXT NOT NULL,
        block_size_bytes  INTEGER NOT NULL,
        iodepth           INTEGER NOT NULL,
        numjobs           INTEGER NOT NULL,
        read_percent      INTEGER,
        ioengine          TEXT NOT NULL,
        direct            INTEGER NOT NULL CHECK (direct IN (0, 1)),
        runtime_s         INTEGER NOT NULL,
        ramp_s            INTEGER NOT NULL,
        working_set_bytes INTEGER NOT NULL,
        UNIQUE (run_id, key)
    ) STRICT
    """,
    """
    CREATE TABLE trials (
        id            INTEGER PRIMARY KEY,
        run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        cell_id       INTEGER NOT NULL REFERENCES cells (id) ON DELETE CASCADE,
        environment   TEXT NOT NULL,
        round         INTEGER NOT NULL,
        trial_index   INTEGER NOT NULL,
        seed          INTEGER NOT NULL,
        status        TEXT NOT NULL,
        reason        TEXT,
        started_at    REAL NOT NULL,
        ended_at      REAL NOT NULL,
        wall_s        REAL,
        fio_exit_code INTEGER,
        fio_argv_json TEXT,
        facts_json    TEXT NOT NULL,
        UNIQUE (run_id, trial_index),
        FOREIGN KEY (run_id, environment)
            REFERENCES run_environments (run_id, name) ON DELETE CASCADE
    ) STRICT
    """,
    "CREATE INDEX trials_cell ON trials (cell_id, environment)",
    """
    CREATE TABLE fio_results (
        trial_id      INTEGER PRIMARY KEY REFERENCES trials (id) ON DELETE CASCADE,
        fio_version   TEXT NOT NULL,
        cpu_usr_pct   REAL NOT NULL,
        cpu_sys_pct   REAL NOT NULL,
        error         INTEGER NOT NULL,
        job_count     INTEGER NOT NULL,
        problems_json TEXT NOT NULL,
        has_sync      INTEGER NOT NULL CHECK (has_sync IN (0, 1)),
        sync_p50_ns   REAL,
        sync_p99_ns   REAL,
        sync_p999_ns  REAL
    ) STRICT
    """,
    """
    CREATE TABLE fio_result_directions (
        trial_id     INTEGER NOT NULL REFERENCES fio_results (trial_id) ON DELETE CASCADE,
        direction    TEXT NOT NULL CHECK (direction IN ('read', 'write')),
        io_bytes     INTEGER NOT NULL,
        bw_bps       REAL NOT NULL,
        iops         REAL NOT NULL,
        runtime_ms   INTEGER NOT NULL,
        total_ios    INTEGER NOT NULL,
        short_ios    INTEGER NOT NULL,
        drop_ios     INTEGER NOT NULL,
        lat_mean_ns  REAL,
        lat_min_ns   REAL,
        lat_max_ns   REAL,
        lat_p50_ns   REAL,
        lat_p99_ns   REAL,
        lat_p999_ns  REAL,
        clat_p50_ns  REAL,
        clat_p99_ns  REAL,
        clat_p999_ns REAL,
        PRIMARY KEY (trial_id, direction)
    ) STRICT
    """,
    """
    CREATE TABLE raw_outputs (
        trial_id   INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
        kind       TEXT NOT NULL CHECK (kind IN ('fio-json', 'stderr', 'console')),
        codec      TEXT NOT NULL CHECK (codec IN ('zlib')),
        size_bytes INTEGER NOT NULL,
        data       BLOB NOT NULL,
        PRIMARY KEY (trial_id, kind)
    ) STRICT
    """,
    """
    CREATE TABLE samples (
        trial_id         INTEGER NOT NULL REFERENCES trials (id) ON DELETE CASCADE,
        t_s              REAL NOT NULL,
        host_cpu_pct     REAL NOT NULL,
        proc_cpu_pct     REAL,
        disk_read_bytes  INTEGER NOT NULL,
        disk_write_bytes INTEGER NOT NULL,
        free_bytes       INTEGER NOT NULL
    ) STRICT
    """,
    "CREATE INDEX samples_trial ON samples (trial_id, t_s)",
)

MIGRATIONS: tuple[Migration, ...] = (Migration(1, "initial schema", _V1),)


def _check_migrations() -> None:
    versions = [m.version for m in MIGRATIONS]
    if versions != list(range(1, SCHEMA_VERSION + 1)):
        raise AssertionError(f"migrations {versions} do not lead to version {SCHEMA_VERSION}")


_check_migrations()


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    """Refuse a database written by a newer iocompare or by some other program."""
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        raise UserError(
            f"database {path} has schema version {version}, newer than this iocompare ({SCHEMA_VERSION})",
            hint="upgrade iocompare or use another --db",
        )
    if version == 0:
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise UserError(
                f"{path} is an SQLite database but not an iocompare one",
                hint="use another --db",
            )
    else:
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if app_id != APPLICATION_ID:
            raise UserError(
                f"{path} is an SQLite database but not an iocompare one",
                hint="use another --db",
            )
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database to SCHEMA_VERSION, one transaction per migration.

    The connection must be in autocommit mode (isolation_level=None). BEGIN IMMEDIATE takes
    the write lock before re-reading the version, so two processes opening a fresh database
    at once do not both run migration 1.
    """
    for migration in MIGRATIONS:
        if check_version(conn, path) >= migration.version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if check_version(conn, path) < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
