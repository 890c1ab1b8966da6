"""The damaged-database matrix of issue 13: every command on every kind of damage is one line and
exit code 2 (or, for a database that is only read-only, a read that works), the file is left
byte for byte as it was, and no -wal/-shm files are left beside it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from stored_runs import hostile_builder, store_run

from iocompare.cli.main import main
from iocompare.store.schema import SCHEMA_VERSION

SRC = str(Path(__file__).resolve().parents[2] / "src")
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fio" / "seqwrite_1m.json"
SUITE = """
name = "t"
runtime_s = 1
ramp_s = 0
repeat = 1
max_repeat = 1
[working_set]
size = "32m"
min_size = "32m"
[[workloads]]
name = "w"
pattern = "rand-read"
"""


def _execute(db: Path, statement: str) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(statement)
    finally:
        conn.close()  # the last connection folds the -wal file back into the database


def drop_table(db: Path) -> None:
    _execute(db, "DROP TABLE samples")


def drop_column(db: Path) -> None:
    _execute(db, "ALTER TABLE trials DROP COLUMN reason")


def truncate(db: Path) -> None:
    os.truncate(db, db.stat().st_size // 2)


def garbage(db: Path) -> None:
    db.write_bytes(bytes(range(256)) * 32)


def newer_version(db: Path) -> None:
    _execute(db, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def empty(db: Path) -> None:
    db.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "dropped table": drop_table,
    "dropped column": drop_column,
    "truncated": truncate,
    "garbage": garbage,
    "newer version": newer_version,
    "empty file": empty,
}
EXPECTED = {
    "dropped table": "table samples is missing",
    "dropped column": "lacks column(s) reason",
    "truncated": "malformed",
    "garbage": "not an SQLite database",
    "newer version": "newer than this iocompare",
    "empty file": "",
}


def commands(tmp: Path, db: Path) -> dict[str, list[str]]:
    suite = tmp / "suite.toml"
    suite.write_text(SUITE)
    fio = tmp / "fake-fio"  # `run` must refuse the database before it would start fio
    fio.write_text("#!/bin/sh\necho fio-3.33\n")
    fio.chmod(0o755)
    target = tmp / "target"
    target.mkdir(exist_ok=True)
    return {
        "report": ["report", "latest"],
        "runs": ["runs"],
        "export": ["export", "latest", "--format", "csv"],
        "compare": ["compare", "latest", "latest"],
        "import": ["import", str(FIXTURE), "--env", "box"],
        "run": ["run", "--suite", str(suite), "--target", str(target), "--fio", str(fio)],
    }


WRITERS = ("import", "run")


def cli(db: Path, argv: list[str], *, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "IOCOMPARE_DB": str(db),
        "IOCOMPARE_STATE_DIR": str(db.parent.parent / "state"),
    }
    code = "import sys; from iocompare.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120, env=env
    )


def cli_here(capsys: pytest.CaptureFixture[str], db: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """The same as `cli`, in this process (a child process costs a second of imports)."""
    code = main([*argv, "--db", str(db)])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, captured.out, captured.err)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="iocompare-damaged-"))
    yield path
    subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True)
    for root, dirs, _files in os.walk(path):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(path)


def healthy_db(workdir: Path) -> Path:
    db = workdir / "db" / "results.db"
    db.parent.mkdir()
    store_run(db, hostile_builder())
    return db


def siblings(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir())


# An empty file is a new database to a command that writes; only the others must refuse it.
MATRIX = [
    (damage, command)
    for damage in DAMAGE
    for command in ("report", "runs", "export", "compare", "import", "run")
    if not (damage == "empty file" and command in WRITERS)
]


@pytest.mark.parametrize(("damage", "command"), MATRIX)
def test_a_damaged_database_is_one_line_and_left_as_it_was(workdir, capsys, damage, command):
    db = healthy_db(workdir)
    DAMAGE[damage](db)
    before = db.read_bytes()
    argv = commands(workdir, db)[command]
    result = cli_here(capsys, db, argv)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert str(db) in line and EXPECTED[damage] in line
    assert db.read_bytes() == before
    assert siblings(db) == ["results.db"]
    assert not any((workdir / "target").iterdir())


def test_report_on_an_empty_file_does_not_turn_it_into_a_database(workdir, capsys):
    db = workdir / "results.db"
    db.write_bytes(b"")
    for argv in (["report", "latest"], ["runs"], ["export", "latest"], ["compare", "1", "2"]):
        result = cli_here(capsys, db, argv)
        assert result.returncode == 2 and "empty file" in one_line(result)
        assert db.stat().st_size == 0
    assert sorted(p.name for p in workdir.iterdir()) == ["results.db"]


def _read_only(db: Path) -> tuple[str, ...]:
    """The database's directory as a read-only filesystem (root writes any file whatever its
    mode, so as root a read-only bind mount in a mount namespace of the command's own)."""
    db.chmod(0o444)
    db.parent.chmod(0o555)
    if os.geteuid() != 0:
        return ()
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"not evaluated: no mount namespace for a read-only bind mount ({probe.stderr.strip()})")
    mount = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return ("unshare", "-m", "sh", "-c", mount, str(db.parent))


def _immutable(db: Path) -> tuple[str, ...]:
    result = subprocess.run(["chattr", "+i", str(db)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"not evaluated: chattr +i is not supported here ({result.stderr.strip()})")
    return ()


@pytest.mark.parametrize("protect", [_read_only, _immutable], ids=["read-only", "immutable"])
def test_a_database_that_cannot_be_written(workdir, protect):
    db = healthy_db(workdir)
    argvs = commands(workdir, db)
    prefix = protect(db)
    before = db.read_bytes()
    for command, argv in argvs.items():
        result = cli(db, argv, prefix=prefix)
        if command in WRITERS:
            assert result.returncode == 2, result.stderr
            assert "is read-only" in one_line(result)
        else:  # reading a database that cannot be written works, and leaves nothing beside it
            assert result.returncode == 0, f"{command}: {result.stderr}"
        assert db.read_bytes() == before
        assert siblings(db) == ["results.db"], command
        assert not any((workdir / "target").iterdir())


def test_a_damaged_database_named_by_a_killed_runs_manifest_does_not_stop_other_commands(
    tmp_path, capsys, isolated_state
):
    damaged = tmp_path / "other.db"
    damaged.write_bytes(bytes(range(256)) * 32)
    runs = isolated_state / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    manifest = {"run_tag": "dead", "pid": 2**22 + 1, "pid_start": "1", "database": str(damaged), "resources": []}
    (runs / "dead.json").write_text(json.dumps(manifest))
    code = main(["runs", "--db", str(tmp_path / "none.db")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "not marked interrupted" in err and "not an SQLite database" in err and "Traceback" not in err
    assert not (runs / "dead.json").exists()
