"""Issue 17 with the real podman: recovery after a SIGKILL removes a container and a volume of the
dead run only when the engine labels them as that run's and the name is one iocompare generates;
a name like `--all` reaches the engine as a name (after `--`), never as an option."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from iocompare.engines.fio_binary import find_fio
from iocompare.environments.container.image import ensure_image
from iocompare.system.resources import recover_stale_runs

pytestmark = pytest.mark.integration

TAG = "feed17aa"
DEAD_PID = 2**22 + 7


def _podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120, check=False)


def _names() -> set[str]:
    containers = _podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
    volumes = _podman("volume", "ls", "--format", "{{.Name}}").stdout.split()
    return set(containers) | set(volumes)


def test_recovery_removes_only_labelled_generated_names(isolated_state: Path) -> None:
    image = ensure_image("podman", find_fio().path).name
    labelled, unlabelled = f"iocompare-{TAG}-podman-1", f"iocompare-{TAG}-podman-2"
    volume, foreign_volume = f"iocompare-{TAG}-v", "keep-me-17"
    made = [labelled, unlabelled]
    try:
        assert (
            _podman("create", "--label", f"iocompare.run={TAG}", "--name", labelled, image, "/bin/true").returncode == 0
        )
        assert _podman("create", "--name", unlabelled, image, "/bin/true").returncode == 0
        assert _podman("volume", "create", "--label", f"iocompare.run={TAG}", volume).returncode == 0
        assert _podman("volume", "create", "--label", f"iocompare.run={TAG}", foreign_volume).returncode == 0
        resources = [
            {"kind": "container", "ident": labelled, "engine": "podman"},
            {"kind": "container", "ident": unlabelled, "engine": "podman"},
            {"kind": "volume", "ident": volume, "engine": "podman"},
            {"kind": "volume", "ident": foreign_volume, "engine": "podman"},
            {"kind": "container", "ident": "--all", "engine": "podman"},
            {"kind": "volume", "ident": "--all", "engine": "podman"},
        ]
        runs = isolated_state / "runs"
        runs.mkdir(parents=True)
        (runs / f"{TAG}.json").write_text(
            json.dumps({"run_tag": TAG, "pid": DEAD_PID, "pid_start": "1", "resources": resources})
        )
        stale = recover_stale_runs(isolated_state)
        left = _names()
        assert labelled not in left and volume not in left
        assert unlabelled in left and foreign_volume in left
        assert len(stale[0].removed) == 2 and len(stale[0].left_alone) == 4
    finally:
        for name in made:
            _podman("rm", "-f", "-t", "0", "--", name)
        for name in (volume, foreign_volume):
            _podman("volume", "rm", "-f", "--", name)
