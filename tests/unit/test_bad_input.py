"""Issue 13's reproductions: each bad input is one line on stderr naming it, exit code 2, nothing written."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from iocompare.cli.main import main
from iocompare.spec.load import MAX_SUITE_BYTES

SRC = str(Path(__file__).resolve().parents[2] / "src")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]


def _limit_memory() -> None:
    # Should the size cap regress, /dev/zero must not take the machine with it.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_isolated(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process with a memory limit and a timeout (a FIFO must not hang the tests)."""
    env = {**os.environ, "PYTHONPATH": SRC, "IOCOMPARE_DB": str(tmp_path / "db" / "results.db")}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from iocompare.cli.main import main; sys.exit(main(sys.argv[1:]))", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        preexec_fn=_limit_memory,
    )


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "directory"])
def test_a_suite_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "suite.fifo")
        os.mkfifo(special)
    elif special == "directory":
        special = str(tmp_path)
    result = run_isolated(tmp_path, "run", "--suite", special, "--target", str(tmp_path), "--dry-run")
    assert result.returncode == 2
    assert_one_line(result.stderr, special, "not a regular file")
    assert not (tmp_path / "db").exists()


def test_a_suite_file_above_the_size_cap_is_refused(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_text('name = "x"\n' + "#" * MAX_SUITE_BYTES + "\n")
    code, _, err = cli(capsys, "run", "--suite", str(big), "--dry-run")
    assert code == 2
    assert_one_line(err, str(big), "limit")


def test_a_suite_file_in_another_encoding_names_the_byte(tmp_path, capsys):
    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    code, _, err = cli(capsys, "run", "--suite", str(latin), "--dry-run")
    assert code == 2
    assert_one_line(err, "not UTF-8", "0xe9")


def test_deeply_nested_toml_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    code, _, err = cli(capsys, "run", "--suite", str(deep), "--dry-run")
    assert code == 2
    assert_one_line(err, str(deep))


def test_a_suite_name_with_a_nul_byte_is_one_line(capsys):
    code, _, err = cli(capsys, "run", "--suite", "a\0b.toml", "--dry-run")
    assert code == 2
    assert_one_line(err, "NUL")
