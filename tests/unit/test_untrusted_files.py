"""Issue 17: files iocompare reads back are untrusted. Each damaged file is planted, then a real
command runs (the CLI's own main, in this process): every file it did not make stays byte for
byte, no foreign process dies, nothing named by the file runs, and stderr says one line."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from untrusted_plants import (
    DEAD_PID,
    Foreign,
    foreign_process,
    make_sentinel,
    manifest,
    plant_manifest,
    trap_program,
    tree_hash,
)

from iocompare.cli.main import main
from iocompare.system.identity import process_start_time
from iocompare.system.ownership import RUN_MARKER, write_marker
from iocompare.system.resources import RunResources, recover_stale_runs

HASH = "a" * 64


@dataclass(frozen=True)
class Scene:
    sentinel: Path
    state: Path
    cache: Path
    work: Path
    foreign: Foreign
    program: Path
    trace: Path


@pytest.fixture
def scene(tmp_path: Path, isolated_state: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    sentinel = make_sentinel(tmp_path / "sentinel")
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("IOCOMPARE_CACHE_DIR", str(cache))
    monkeypatch.setenv("IOCOMPARE_DB", str(tmp_path / "db" / "results.db"))
    monkeypatch.chdir(sentinel)  # "." and relative paths in a manifest name the sentinel
    work = tmp_path / "work"
    work.mkdir()
    program, trace = trap_program(work)
    for foreign in foreign_process():
        yield Scene(sentinel, isolated_state, cache, work, foreign, program, trace)


def _path(ident: str) -> list[dict[str, object]]:
    return [{"kind": "path", "ident": ident}]


def _foreign_start(scene: Scene) -> str:
    return f"{scene.foreign.pid}@{process_start_time(scene.foreign.pid)}"


def _linked_out(scene: Scene) -> str:
    """A marked run directory with a symlink that leads out of it into the sentinel."""
    run_dir = scene.work / "target" / "iocompare-deadbeef"
    write_marker(run_dir, "deadbeef")
    (run_dir / "link").symlink_to(scene.sentinel / "sub")
    return str(run_dir / "link" / "data.bin")


Plant = Callable[[Scene], None]

# Resource manifests whose entries name what the run did not make.
MANIFESTS: dict[str, Callable[[Scene], str | bytes]] = {
    "empty path": lambda s: manifest(_path("")),
    "dot path": lambda s: manifest(_path(".")),
    "relative path": lambda s: manifest(_path("keep.txt")),
    "root path": lambda s: manifest(_path("/")),
    "absolute foreign dir": lambda s: manifest(_path(str(s.sentinel))),
    "dotdot escape": lambda s: manifest(_path(f"{s.sentinel}/iocompare-deadbeef/../sub")),
    "unmarked run dir": lambda s: manifest(_path(str(s.sentinel / "iocompare-deadbeef"))),
    "symlink out of a marked run dir": lambda s: manifest(_path(_linked_out(s))),
    "manifests of other runs": lambda s: manifest(_path(str(s.state / "runs"))),
    "engine is a program": lambda s: manifest(
        [{"kind": "container", "ident": "iocompare-deadbeef-x-1", "engine": str(s.program)}]
    ),
    "container named --all": lambda s: manifest([{"kind": "container", "ident": "--all", "engine": "podman"}]),
    "volume named -a": lambda s: manifest([{"kind": "volume", "ident": "-a", "engine": "docker"}]),
    "foreign pid without start": lambda s: manifest([{"kind": "process", "ident": str(s.foreign.pid)}]),
    "foreign pid and start, other executable": lambda s: manifest(
        [{"kind": "process", "ident": _foreign_start(s), "executable": "/usr/bin/fio"}]
    ),
    "foreign pid, start, no executable": lambda s: manifest([{"kind": "process", "ident": _foreign_start(s)}]),
    "mount of /": lambda s: manifest([{"kind": "mount", "ident": "/"}]),
    "lock that is not a lock": lambda s: manifest([{"kind": "lock", "ident": str(s.sentinel / "keep.txt")}]),
    "lock file with garbage": lambda s: manifest([{"kind": "lock", "ident": str(s.sentinel / ".iocompare.lock")}]),
    "pid abc": lambda s: json.dumps({"run_tag": "deadbeef", "pid": "abc", "resources": _path(str(s.sentinel))}),
    "pid negative": lambda s: manifest(_path(str(s.sentinel)), pid=-1),
    "pid true": lambda s: manifest(_path(str(s.sentinel)), pid=True),
    "run tag with slashes": lambda s: manifest(_path(str(s.sentinel)), run_tag="../../x"),
    "unknown kind": lambda s: manifest([{"kind": "shell", "ident": str(s.program)}]),
    "not json": lambda s: b"\x1b[2J{not json",
    "json list": lambda s: "[1, 2, 3]",
    "resources not a list": lambda s: json.dumps({"run_tag": "deadbeef", "pid": DEAD_PID, "resources": "rm -rf ."}),
}

# Manifests that are valid records: recovery reads them, then leaves alone what it cannot prove.
VALID_BUT_UNPROVEN = {
    "dot path",
    "relative path",
    "root path",
    "absolute foreign dir",
    "dotdot escape",
    "unmarked run dir",
    "symlink out of a marked run dir",
    "manifests of other runs",
    "engine is a program",
    "container named --all",
    "volume named -a",
    "foreign pid without start",
    "foreign pid and start, other executable",
    "foreign pid, start, no executable",
    "mount of /",
    "lock that is not a lock",
    "lock file with garbage",
}


def _guest_image(scene: Scene, manifest_text: str | bytes) -> None:
    directory = scene.cache / "guest" / HASH
    directory.mkdir(parents=True)
    for name in ("vmlinuz", "initramfs.cpio"):
        (directory / name).write_bytes(b"x")
    path = directory / "manifest.json"
    path.write_bytes(manifest_text if isinstance(manifest_text, bytes) else manifest_text.encode())
    (scene.cache / "guest" / "current").write_text(HASH + "\n")


def _pointer(scene: Scene, text: bytes) -> None:
    (scene.cache / "guest").mkdir(parents=True)
    (scene.cache / "guest" / "current").write_bytes(text)


CACHE_FILES: dict[str, Callable[[Scene], None]] = {
    "guest manifest not json": lambda s: _guest_image(s, b"{bad"),
    "guest manifest wrong types": lambda s: _guest_image(s, json.dumps({"hash": 5, "kernel_version": []})),
    "guest manifest other hash": lambda s: _guest_image(s, json.dumps({"hash": "b" * 64})),
    "cache pointer escaping": lambda s: _pointer(s, b"../../../etc\n"),
    "cache pointer binary": lambda s: _pointer(s, b"\x1b]0;owned\x07\xff\xfe"),
}

QEMU_DRY_RUN = ["run", "--dry-run", "--env", "qemu", "--suite", "quick"]  # reads the guest image: exit 2, none
CACHE_COMMANDS = {  # each a command that reads the damaged file
    "guest manifest not json": ["image", "list"],
    "guest manifest wrong types": QEMU_DRY_RUN,
    "guest manifest other hash": ["envs"],
    "cache pointer escaping": ["envs"],
    "cache pointer binary": QEMU_DRY_RUN,
}

COMMANDS = (
    ["schema"],
    ["runs"],
    ["envs"],
    ["image", "list"],
    ["run", "--dry-run", "--env", "host", "--suite", "quick"],
)


def _run(args: list[str], scene: Scene, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    argv = [*args, "--target", str(scene.work / "target")] if args[0] == "run" else args
    (scene.work / "target").mkdir(exist_ok=True)
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err.splitlines()


def _baseline(args: list[str], scene: Scene, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    return _run(args, scene, capsys)


def _assert_untouched(scene: Scene, before: str, lines: list[str], baseline_lines: list[str]) -> None:
    assert tree_hash(scene.sentinel) == before, "a file the run did not make was changed"
    assert scene.foreign.alive(), "a foreign process was killed"
    assert not scene.trace.exists(), "a program named by a file was executed"
    extra = [line for line in lines if line not in baseline_lines]
    assert len(extra) == 1, extra  # one line about the damage
    assert "\x1b" not in extra[0] and "Traceback" not in extra[0]


MANIFEST_CASES = sorted(MANIFESTS)
CACHE_CASES = sorted(CACHE_FILES)


@pytest.mark.parametrize("case", MANIFEST_CASES)
def test_planted_manifest_is_never_obeyed(case: str, scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    command = COMMANDS[MANIFEST_CASES.index(case) % len(COMMANDS)]
    expected_code, baseline_lines = _baseline(command, scene, capsys)
    text = MANIFESTS[case](scene)
    planted = plant_manifest(scene.state, text)
    before = tree_hash(scene.sentinel)
    code, lines = _run(command, scene, capsys)
    assert code == expected_code
    _assert_untouched(scene, before, lines, baseline_lines)
    if case in VALID_BUT_UNPROVEN:
        assert "left alone" in lines[-1] if lines else False
        assert not planted.exists()  # a dead run's manifest is done with, what it named left alone
    else:
        moved = scene.state / "runs" / "invalid" / planted.name
        assert moved.read_bytes() == (text if isinstance(text, bytes) else text.encode())  # moved, never deleted
        assert "ignored" in " ".join(lines)


@pytest.mark.parametrize("case", CACHE_CASES)
def test_planted_cache_file_is_ignored(case: str, scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    command = CACHE_COMMANDS[case]
    expected_code, baseline_lines = _baseline(command, scene, capsys)
    CACHE_FILES[case](scene)
    before_cache = {p.name for p in scene.cache.rglob("*") if p.is_file()}
    before = tree_hash(scene.sentinel)
    code, lines = _run(command, scene, capsys)
    assert code == expected_code
    _assert_untouched(scene, before, lines, baseline_lines)
    invalid = [p for p in scene.cache.rglob("*") if p.is_file() and p.parent.name == "invalid"]
    assert len(invalid) == 1  # moved aside, not deleted
    assert {p.name for p in scene.cache.rglob("*") if p.is_file()} == before_cache


def test_damaged_manifest_does_not_stop_help(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13 item 7: a manifest with "pid": "abc" once crashed every command, --help included."""
    plant_manifest(scene.state, json.dumps({"run_tag": "deadbeef", "pid": "abc", "resources": []}))
    assert main(["--help"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "pid" in err[0]


def test_state_dir_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """Issue 13 item 7: IOCOMPARE_STATE_DIR naming a file: a note for other commands, exit 2 for run."""
    state = tmp_path / "state-file"
    state.write_text("x")
    monkeypatch.setenv("IOCOMPARE_STATE_DIR", str(state))
    monkeypatch.setenv("IOCOMPARE_DB", str(tmp_path / "r.db"))
    assert main(["schema"]) == 0
    assert "is not a directory" in capsys.readouterr().err
    target = tmp_path / "t"
    target.mkdir()
    assert main(["run", "--env", "host", "--target", str(target), "--repeat", "1", "--max-repeat", "1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "is not a directory" in err[-1] and not (tmp_path / "r.db").exists()
    assert state.read_text() == "x" and list(target.iterdir()) == []


def test_what_the_run_made_is_still_removed(scene: Scene) -> None:
    """The proof rules do not stop real recovery: the marked run directory and a process whose pid,
    start time and executable match are removed after the owner died."""
    run_dir = scene.work / "target" / "iocompare-cafe0001"
    write_marker(run_dir, "cafe0001")
    (run_dir / "host").mkdir()
    (run_dir / "host" / "ws").write_bytes(b"x" * 100)
    resources = RunResources("cafe0001", directory=scene.state)
    resources.add_path(run_dir, note="run scratch directory")
    resources.add_process(scene.foreign.pid, note="fio")
    data = json.loads(resources.manifest_path.read_text())
    data["pid"], data["pid_start"] = DEAD_PID, "1"
    resources.manifest_path.write_text(json.dumps(data))
    stale = recover_stale_runs(scene.state)
    assert not run_dir.exists()
    scene.foreign.process.wait(timeout=10)  # recorded with pid, start and executable: it was ours
    assert stale[0].left_alone == ()


def test_a_live_run_is_left_alone(scene: Scene) -> None:
    resources = RunResources("cafe0002", directory=scene.state)
    run_dir = scene.work / "target" / "iocompare-cafe0002"
    write_marker(run_dir, "cafe0002")
    resources.add_path(run_dir)
    assert recover_stale_runs(scene.state) == []
    assert (run_dir / RUN_MARKER).is_file() and resources.manifest_path.exists()
    resources.close()


def test_marker_for_another_tag_is_no_proof(scene: Scene) -> None:
    run_dir = scene.work / "target" / "iocompare-cafe0003"
    write_marker(run_dir, "cafe9999")
    plant_manifest(scene.state, manifest(_path(str(run_dir)), run_tag="cafe0003"))
    stale = recover_stale_runs(scene.state)
    assert run_dir.is_dir() and stale[0].left_alone


def test_lock_holder_from_a_damaged_lock_file(tmp_path: Path) -> None:
    from iocompare.errors import UserError
    from iocompare.system.lock import TargetLock

    with TargetLock(tmp_path, description="run \x1b[31mred") as held:
        os.pwrite(os.open(held.path, os.O_WRONLY), b'{"pid": "x", "since": 1e400}', 0)
        with pytest.raises(UserError) as refused, TargetLock(tmp_path, description="second"):
            pass
    assert "holder unknown" in str(refused.value)


def test_lock_holder_name_is_escaped(tmp_path: Path) -> None:
    from iocompare.errors import UserError
    from iocompare.system.lock import TargetLock

    with (
        TargetLock(tmp_path, description="run \x1b[31mred"),
        pytest.raises(UserError) as refused,
        TargetLock(tmp_path, description="second"),
    ):
        pass
    assert "\x1b" not in refused.value.one_line() and "\\x1b" in refused.value.one_line()


def test_planted_damage_count() -> None:
    """The report counts these: every damaged file above is planted by one test."""
    assert len(MANIFESTS) + len(CACHE_FILES) == 31
