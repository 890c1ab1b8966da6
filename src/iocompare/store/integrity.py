"""Checks made when a database is opened, before anything reads or writes it.

A damaged database (a table or column dropped, a file that is not a regular file, one that
cannot be written) is refused with one line at open time, so a run never stores half of itself
into it and a read-only command never turns an empty file into a database.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
from pathlib import Path

from iocompare.errors import UserError
from iocompare.store import schema

_HINT = "use another --db (or restore the file from a backup)"


def check_file(path: Path, *, readonly: bool) -> None:
    """The path must be a regular file (or, for writing, a new one in a writable directory)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        if readonly:
            raise UserError(f"no database at {path}", hint="run a suite first or pass --db") from None
        return
    except OSError as exc:
        raise UserError(f"cannot open database {path}: {exc.strerror}", hint=_HINT) from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"database path {path} is a directory", hint="use another --db")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"database path {path} is not a regular file", hint="use another --db")
    if info.st_size == 0 and readonly:
        raise UserError(f"database {path} is an empty file, not an iocompare database", hint=_HINT)
    if not readonly and not writable(path):
        raise UserError(
            f"database {path} is read-only (permissions, an immutable file or a read-only filesystem)",
            hint="use another --db for a run or an import; report, export and compare can still read it",
        )


def writable(path: Path) -> bool:
    """The file and its directory (SQLite puts -wal and -shm files beside it) can be written."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


@functools.cache
def expected_columns() -> dict[str, tuple[str, ...]]:
    """Table -> column names of a database at SCHEMA_VERSION, built by the migrations themselves."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        schema.migrate(conn, Path(":memory:"))
        return _columns(conn)
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {table: tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')) for table in tables}


def check_tables(conn: sqlite3.Connection, path: Path) -> None:
    """Every table and column this version uses is there (extra ones are left alone)."""
    found = _columns(conn)
    for table, columns in expected_columns().items():
        if table not in found:
            raise UserError(f"database {path} is damaged: table {table} is missing", hint=_HINT)
        missing = [column for column in columns if column not in found[table]]
        if missing:
            raise UserError(
                f"database {path} is damaged: table {table} lacks column(s) {', '.join(missing)}", hint=_HINT
            )
