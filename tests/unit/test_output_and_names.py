"""Issue 13 items 4 and 11, issue 17: output paths refused before anything is written, empty
options as bad input, names printable and bounded, and no stored byte steering the terminal."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from stored_runs import hostile_builder, store_run

from iocompare.cli.main import main
from iocompare.system.ownership import write_marker
from iocompare.system.safe_text import escape, name_problem

REPORT = ["report", "latest", "--format", "html"]
EXPORT = ["export", "latest", "--format", "csv"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "db" / "r.db"
    path.parent.mkdir()
    store_run(path, hostile_builder())
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, list[str]]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err.splitlines()


@contextlib.contextmanager
def _read_only_directory(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write: a read-only tmpfs as root (CI), else mode 0500."""
    directory = tmp_path / "ro"
    directory.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(directory)], check=True)
        try:
            yield directory
        finally:
            subprocess.run(["umount", str(directory)], check=True)
    else:
        directory.chmod(0o500)
        try:
            yield directory
        finally:
            directory.chmod(0o700)


def _destination(kind: str, tmp_path: Path, db: Path, isolated_state: Path) -> Path:
    if kind == "the database":
        return db
    if kind == "a symlink to the database":
        (tmp_path / "link.db").symlink_to(db)
        return tmp_path / "link.db"
    if kind == "a hard link to the database":
        os.link(db, tmp_path / "hard.db")
        return tmp_path / "hard.db"
    if kind == "a directory":
        (tmp_path / "out").mkdir()
        return tmp_path / "out"
    if kind == "a device node":
        return Path("/dev/null")
    if kind == "a FIFO":
        os.mkfifo(tmp_path / "fifo")
        return tmp_path / "fifo"
    if kind == "inside a run's scratch directory":
        write_marker(tmp_path / "target" / "iocompare-cafe0001", "cafe0001")
        return tmp_path / "target" / "iocompare-cafe0001" / "report.html"
    assert kind == "inside the state directory"
    return isolated_state / "report.html"


DESTINATIONS = [
    "the database",
    "a symlink to the database",
    "a hard link to the database",
    "a directory",
    "a device node",
    "a FIFO",
    "inside a run's scratch directory",
    "inside the state directory",
]


def _listing(root: Path) -> dict[str, bytes | str]:
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            found[str(path)] = "dir" if path.is_dir() else "special"
        else:
            found[str(path)] = path.read_bytes()
    return found


@pytest.mark.parametrize("command", [REPORT, EXPORT], ids=["report", "export"])
@pytest.mark.parametrize("kind", DESTINATIONS)
def test_output_destination_refused_before_anything_is_written(
    kind: str, command: list[str], tmp_path: Path, db: Path, isolated_state: Path, capsys
) -> None:
    destination = _destination(kind, tmp_path, db, isolated_state)
    before = _listing(tmp_path)
    mode = os.lstat(destination).st_mode if os.path.lexists(destination) else None
    code, _, err = _cli(capsys, *command, "--db", str(db), "--output", str(destination))
    assert code == 2 and len(err) == 1 and "--output" in err[0], err
    assert _listing(tmp_path) == before  # the database and every other file byte for byte, no temp file
    if mode is not None:
        assert os.lstat(destination).st_mode == mode  # /dev/null is still a device


@pytest.mark.parametrize("command", [REPORT, EXPORT], ids=["report", "export"])
def test_output_in_a_directory_that_cannot_be_written(command: list[str], tmp_path: Path, db: Path, capsys) -> None:
    with _read_only_directory(tmp_path) as directory:
        code, _, err = _cli(capsys, *command, "--db", str(db), "--output", str(directory / "out"))
        assert code == 2 and len(err) == 1 and "--output" in err[0], err
        assert list(directory.iterdir()) == []


def test_markdown_directory_output_is_still_a_directory(tmp_path: Path, db: Path, capsys) -> None:
    code, _, err = _cli(capsys, "report", "--db", str(db), "--format", "markdown", "--output", str(tmp_path / "md"))
    assert code == 0, err
    assert (tmp_path / "md" / "report.md").is_file()


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--dry-run", "--fio", ""],
        ["run", "--dry-run", "--suite", ""],
        ["run", "--dry-run", "--reserve", " "],
        ["run", "--dry-run", "--env", ""],
        ["run", "--dry-run", "--workload", ""],
        ["run", "--resume", ""],
        ["run", "--dry-run", "--name", ""],
        ["run", "--dry-run", "--target", ""],
        ["image", "rm", "", "--kind", "guest"],
        ["image", "rm", ""],
        ["image", "list", "--kind", ""],
        ["report", "--baseline", ""],
        ["export", "--baseline", ""],
        ["doctor", "--fio", ""],
    ],
)
def test_an_empty_option_is_bad_input(argv: list[str], capsys, isolated_db: Path) -> None:
    code, _, err = _cli(capsys, *argv)
    assert code == 2 and len(err) == 1, err
    assert "''" in err[0] or "' '" in err[0] or "empty" in err[0] or "blank" in err[0]


@pytest.mark.parametrize(
    "name",
    ["a\x1b[31mred", "a\u202eb", "x" * 5000, "   ", "tab\there", "nul\x00", "line\nbreak", "\u2066iso"],
)
def test_run_and_import_names_are_printable_and_bounded(name: str, capsys, isolated_db: Path, tmp_path) -> None:
    code, _, err = _cli(capsys, "run", "--dry-run", "--env", "host", "--target", str(tmp_path), "--name", name)
    assert code == 2 and len(err) == 1 and "\x1b" not in err[0] and "\u202e" not in err[0], err
    assert len(err[0]) < 400
    assert name_problem(name) is not None
    fio_json = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
    first = sorted(fio_json.glob("*.json"))[0]
    code, _, err = _cli(capsys, "import", str(first), "--env", "host", "--run", name)
    assert code == 2 and len(err) == 1 and not isolated_db.exists(), err
    code, _, err = _cli(capsys, "import", str(first), "--env", name)
    assert code == 2 and len(err) == 1 and not isolated_db.exists(), err


def test_names_at_the_bound_are_accepted() -> None:
    assert name_problem("x" * 64) is None
    assert name_problem("x" * 65) is not None
    assert name_problem("café-ü") is None


def test_escape_makes_every_steering_character_visible() -> None:
    assert escape("a\x1b[2Jb\x07\x9b\u202e\u2067\x7f") == "a\\x1b[2Jb\\x07\\x9b\\u202e\\u2067\\x7f"
    assert escape("tables\tand\nlines stay") == "tables\tand\nlines stay"


def _plant_hostile_name(db: Path) -> None:
    """An older database (or an edited one) holds a run name that would steer the terminal."""
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET name = ?", ("r\x1b[2J\x1b]0;owned\x07\u202eun",))


@pytest.mark.parametrize(
    "argv",
    [["runs"], ["report", "latest"], ["report", "latest", "--verbose"], ["report", "latest", "--format", "markdown"]],
)
def test_stored_names_never_reach_the_terminal_raw(argv: list[str], db: Path, capsys) -> None:
    _plant_hostile_name(db)
    code, out, err = _cli(capsys, *argv, "--db", str(db))
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    if argv != ["report", "latest", "--format", "markdown"]:  # Markdown to a pipe is data, kept as stored
        assert "\\x1b" in out


def test_an_error_message_carrying_escape_bytes_is_escaped(db: Path, capsys) -> None:
    code, _, err = _cli(capsys, "report", "no\x1b[2Jsuch", "--db", str(db))
    assert code == 2 and len(err) == 1
    assert "\x1b" not in err[0]
