"""Issue 17, property: no generated manifest (arbitrary paths, names, pids, kinds, engines) makes
recovery delete anything outside the run's own marked directory or kill a process it did not
record with its pid, start time and executable."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from untrusted_plants import DEAD_PID, Foreign, foreign_process, make_sentinel, plant_manifest, trap_program, tree_hash

from iocompare.system.identity import process_start_time
from iocompare.system.ownership import write_marker
from iocompare.system.resources import recover_stale_runs

EXAMPLES = 150
TAG = "feed0001"


class World:
    """Directories that live across examples: the sentinel, the run's own directory, the state."""

    def __init__(self, root: Path, foreign: Foreign) -> None:
        self.root = root
        self.sentinel = make_sentinel(root / "sentinel")
        self.target = root / "target"
        self.run_dir = self.target / f"iocompare-{TAG}"
        self.state = root / "state"
        self.foreign = foreign
        self.program, self.trace = trap_program(root)
        self.sentinel_hash = tree_hash(self.sentinel)
        self.foreign_exe = os.readlink(f"/proc/{foreign.pid}/exe")

    def fresh_run_dir(self) -> None:
        shutil.rmtree(self.run_dir, ignore_errors=True)
        write_marker(self.run_dir, TAG)
        (self.run_dir / "host").mkdir()
        (self.run_dir / "host" / "ws").write_bytes(b"w")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix="iocompare-property-"))
    try:
        for foreign in foreign_process():
            yield World(root, foreign)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _paths(world: World) -> st.SearchStrategy[str]:
    near = [
        "",
        ".",
        "..",
        "/",
        "//",
        "keep.txt",
        str(world.sentinel),
        str(world.sentinel / "keep.txt"),
        str(world.sentinel / "iocompare-deadbeef"),
        str(world.run_dir / ".." / ".." / "sentinel"),
        str(world.run_dir) + "/./host",
        str(world.target),
        str(world.state),
        str(world.state / "runs"),
        str(world.program),
    ]
    own = [str(world.run_dir), str(world.run_dir / "host"), str(world.run_dir / "host" / "ws")]
    pieces = st.sampled_from(["sentinel", "..", ".", "sub", f"iocompare-{TAG}", "keep.txt", "", "x\x1b"])
    built = st.lists(pieces, max_size=5).map(lambda parts: str(world.root) + "/" + "/".join(parts))
    return st.one_of(st.sampled_from(near + own), built, st.text(max_size=30))


def _pids(world: World) -> st.SearchStrategy[str]:
    pid = world.foreign.pid
    start = process_start_time(pid) or "0"
    return st.one_of(
        st.sampled_from([str(pid), f"{pid}@{start}", f"{pid}@1", "1", "0", "-1", f"{os.getpid()}", "abc", ""]),
        st.integers(min_value=-5, max_value=2**22).map(str),
        st.text(max_size=12),
    )


@st.composite
def manifests(draw: st.DrawFn, world: World) -> dict[str, object]:
    resources = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["path", "lock", "process", "container", "volume", "mount", "other"]))
        ident = draw(_pids(world) if kind == "process" else _paths(world) if kind in ("path", "lock", "mount")
                     else st.sampled_from(["--all", "-a", f"iocompare-{TAG}-x-1", "iocompare-", "x"]))  # fmt: skip
        resource = {"kind": kind, "ident": ident}
        if draw(st.booleans()):
            resource["engine"] = draw(st.sampled_from(["docker", "podman", str(world.program), "", "/bin/sh"]))
        if draw(st.booleans()):
            # near misses of the real executable: all three of pid, start and executable must match
            near = ["/bin/sleep", "sleep", "", str(world.program), "/usr/bin/sleep (deleted)"]
            resource["executable"] = draw(st.sampled_from([e for e in near if e != world.foreign_exe]))
        resources.append(resource)
    pid = draw(st.one_of(st.just(DEAD_PID), st.integers(-3, 2**33), st.text(max_size=5), st.none()))
    return {"run_tag": draw(st.sampled_from([TAG, "../x", "", "deadbeef"])), "pid": pid, "resources": resources}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_manifest_deletes_or_kills_what_the_run_did_not_make(world: World, data: st.DataObject) -> None:
    document = data.draw(manifests(world))
    world.fresh_run_dir()
    shutil.rmtree(world.state, ignore_errors=True)
    plant_manifest(world.state, json.dumps(document))
    recover_stale_runs(world.state)
    event("removed inside the run's own directory" if not (world.run_dir / "host").exists() else "removed nothing")
    assert tree_hash(world.sentinel) == world.sentinel_hash
    assert world.foreign.alive()
    assert not world.trace.exists()
    assert world.program.is_file() and world.target.is_dir() and world.root.is_dir()
    # the only thing it may remove is inside the run's own marked directory
    assert not (world.state / "runs" / "deadbeef.json").exists()
