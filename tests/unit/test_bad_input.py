"""Issue 13's reproductions: each bad input is one line on stderr naming it, exit code 2, nothing written."""

from __future__ import annotations

import json
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


BUFFERED_SUITE = """
name = "buffered"
runtime_s = 1
ramp_s = 0
direct = false
[working_set]
size = "32m"
min_size = "32m"
[[workloads]]
name = "rr"
pattern = "rand-read"
"""


@pytest.fixture
def fake_fio(tmp_path: Path) -> Path:
    """Answers `--version` only: these runs must stop before any fio job would start."""
    fio = tmp_path / "fake-fio"
    fio.write_text("#!/bin/sh\necho fio-3.33\n")
    fio.chmod(0o755)
    return fio


def test_a_run_whose_every_environment_is_refused_for_space_writes_nothing(tmp_path, capsys, fake_fio):
    db, target = tmp_path / "db" / "results.db", tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "s.toml"
    suite.write_text(BUFFERED_SUITE.replace("direct = false", "direct = true"))
    argv = ["run", "--suite", str(suite), "--target", str(target), "--db", str(db), "--fio", str(fake_fio)]
    code, _, err = cli(capsys, *argv, "--repeat", "1", "--reserve", "1000t")
    assert code == 2, err
    assert_one_line(err, "no environment has the space", "host")
    assert not db.exists() and not any(target.iterdir())


def test_a_run_in_which_every_trial_is_refused_is_failed_not_complete(tmp_path, capsys, fake_fio):
    db, target = tmp_path / "db" / "results.db", tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "s.toml"
    suite.write_text(BUFFERED_SUITE)  # a buffered 32 MiB working set: the page cache rule refuses it
    argv = ["run", "--suite", str(suite), "--target", str(target), "--db", str(db), "--fio", str(fake_fio)]
    code, out, err = cli(capsys, *argv, "--repeat", "1")
    assert code == 1, err
    assert "Traceback" not in err and "no trial was measured" in out
    code, out, _ = cli(capsys, "runs", "--db", str(db))
    assert code == 0 and "failed" in out and "complete" not in out
    assert not any(target.iterdir())


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--dry-run"], "--dry-run"),
        (["--suite", "quick"], "--suite"),
        (["--repeat", "3"], "--repeat"),
        (["--target", "/mnt"], "--target"),
        (["--env", "podman"], "--env"),
    ],
)
def test_resume_refuses_the_options_it_would_ignore(tmp_path, capsys, extra, flag):
    db = tmp_path / "results.db"
    code, _, err = cli(capsys, "run", "--resume", "1", "--db", str(db), *extra)
    assert code == 2
    assert_one_line(err, flag, "--resume")
    assert not db.exists()


def test_an_environment_that_cannot_run_is_refused_before_anything_is_written(tmp_path, fake_fio, monkeypatch):
    # The docker daemon is "down": DOCKER_HOST names a socket nobody listens on.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "s.toml"
    suite.write_text(BUFFERED_SUITE.replace("direct = false", "direct = true"))
    argv = ["run", "--suite", str(suite), "--env", "docker", "--target", str(target), "--fio", str(fake_fio)]
    for extra in ([], ["--dry-run"]):
        result = run_isolated(tmp_path, *argv, *extra)
        assert result.returncode == 2, result.stderr
        assert_one_line(result.stderr, "environment docker cannot run here", "--skip-unavailable")
        assert not (tmp_path / "db").exists() and not any(target.iterdir())
    # Asked to skip it, the run has nothing left to run: still bad input, still nothing written.
    result = run_isolated(tmp_path, *argv, "--skip-unavailable")
    assert result.returncode == 2, result.stderr
    assert "none of the requested environments can run here" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "db").exists() and not any(target.iterdir())


def test_a_duplicate_environment_from_the_command_line_is_blamed_on_env(capsys):
    code, _, err = cli(capsys, "run", "--suite", "quick", "--env", "host", "--env", "host", "--dry-run")
    assert code == 2
    assert_one_line(err, "--env", "duplicates")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--target", ""], ["target", "''"]),
        (["--target", "a\0b"], ["target"]),
        (["--reserve", "100%"], ["--reserve", "100%", "out of range"]),
        (["--reserve", "nan%"], ["--reserve", "out of range"]),
        (["--fio", "/bin/false"], ["--fio /bin/false", "not a usable fio"]),
        (["--db", "a\0b"], ["--db"]),
    ],
)
def test_small_bad_inputs_of_run_are_exit_2(tmp_path, capsys, argv, words):
    code, _, err = cli(capsys, "run", "--suite", "quick", "--target", str(tmp_path), *argv)
    assert code == 2, err
    assert_one_line(err, *words)
    assert list(tmp_path.iterdir()) == []


def test_the_dry_run_refuses_a_run_name_that_is_taken(tmp_path, capsys):
    from stored_runs import hostile_builder, store_run

    db = tmp_path / "results.db"
    store_run(db, hostile_builder(), name="taken")
    before = db.read_bytes()
    code, _, err = cli(capsys, "run", "--dry-run", "--name", "taken", "--db", str(db), "--target", str(tmp_path))
    assert code == 2
    assert_one_line(err, "'taken' already exists")
    code, _, err = cli(capsys, "run", "--dry-run", "--name", "latest", "--db", str(db), "--target", str(tmp_path))
    assert code == 2
    assert_one_line(err, "'latest' is not usable")
    assert db.read_bytes() == before


def test_a_run_reference_of_unicode_digits_is_one_line(tmp_path, capsys):
    from stored_runs import hostile_builder, store_run

    db = tmp_path / "results.db"
    store_run(db, hostile_builder())
    code, _, err = cli(capsys, "report", "\u00b2", "--db", str(db))
    assert code == 2
    assert_one_line(err, "no run '\u00b2'")


def test_the_dry_run_tells_of_cells_the_cache_rule_will_refuse(tmp_path, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text(BUFFERED_SUITE)
    code, out, err = cli(capsys, "run", "--suite", str(suite), "--target", str(tmp_path), "--dry-run")
    assert code == 0, err
    assert "rr@4k in host: refused: working set 32 MiB is smaller than 2x the host page cache" in out
    assert "host: no cell would be measured" in out
    assert list(tmp_path.iterdir()) == [suite]


def test_an_imported_file_of_the_wrong_shape_is_one_line(tmp_path, capsys):
    # Found by the fuzzer: "global options" holding a string, not a table.
    doc = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "fio" / "seqwrite_1m.json").read_text())
    doc["global options"] = "x"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code, _, err = cli(capsys, "import", str(bad), "--env", "box", "--db", str(tmp_path / "r.db"))
    assert code == 2
    assert_one_line(err, str(bad), "unexpected shape")
    assert not (tmp_path / "r.db").exists()


def test_a_run_id_too_large_for_sqlite_is_no_run(tmp_path, capsys):
    from stored_runs import hostile_builder, store_run

    db = tmp_path / "results.db"
    store_run(db, hostile_builder())
    code, _, err = cli(capsys, "export", "99999999999999999999", "--db", str(db))
    assert code == 2
    assert_one_line(err, "no run '99999999999999999999'")


@pytest.mark.parametrize("name", ["", "latest", "42", " x"])
def test_an_import_under_an_unusable_run_name_creates_no_database(tmp_path, capsys, name):
    # Found by the fuzzer: the database was created before the name was refused.
    db = tmp_path / "new.db"
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "fio" / "seqwrite_1m.json"
    code, _, err = cli(capsys, "import", str(fixture), "--env", "box", "--run", name, "--db", str(db))
    assert code == 2
    assert_one_line(err, f"run name {name!r} is not usable")
    assert not db.exists()
