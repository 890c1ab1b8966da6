"""Shared fixtures. Integration tests use the real fio; the unit tier needs nothing special."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "unit"))  # builders.py for every tier

TINY_SUITE = """
name = "tiny"
runtime_s = 1
ramp_s = 0
settle_s = 0      # plumbing tests: no equal idle (tests/integration/test_clock_shared_idle.py has it)
repeat = {repeat}
max_repeat = {repeat}
environments = {environments}

[working_set]
size = "32m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]

[[workloads]]
name = "seq-write"
pattern = "seq-write"
block_sizes = ["1m"]
"""


@pytest.fixture
def tiny_suite(tmp_path: Path):
    """Write a short suite file (1 s trials, 32 MiB working set) and return its path."""

    def make(repeat: int = 1, environments: tuple[str, ...] = ("host",)) -> Path:
        path = tmp_path / "tiny.toml"
        envs = "[" + ", ".join(f'"{e}"' for e in environments) + "]"
        path.write_text(TINY_SUITE.format(repeat=repeat, environments=envs))
        return path

    return make


@pytest.fixture(autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run manifests (crash recovery) of each test go to a directory of its own."""
    path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("IOCOMPARE_STATE_DIR", str(path))
    return path


@pytest.fixture
def isolated_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database path of the test's own; IOCOMPARE_DB is pointed at it."""
    path = tmp_path / "db" / "results.db"
    monkeypatch.setenv("IOCOMPARE_DB", str(path))
    return path


@pytest.fixture
def fresh_engines():
    """Containers: forget cached engine probes before and after the test (it may change them)."""
    from iocompare.environments.container.preflight import reset_cache

    reset_cache()
    yield
    reset_cache()


@pytest.fixture(scope="session")
def docker_daemon(tmp_path_factory: pytest.TempPathFactory):
    """A Docker engine that answers: the machine's own if one runs, else a `dockerd` started here
    (own socket, pidfile, data and exec roots; DOCKER_HOST points at it) and stopped by its PID."""
    import os
    import shutil
    import signal
    import subprocess
    import tempfile
    import time

    from iocompare.environments.container.preflight import reset_cache

    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        pytest.fail("docker and dockerd are needed (scripts/setup.sh installs docker.io)")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60, check=False).returncode == 0:
        yield os.environ.get("DOCKER_HOST", "")
        return
    # The exec root holds unix sockets: keep its path short.
    root = Path(tempfile.mkdtemp(prefix="iocompare-dockerd-", dir="/run" if os.access("/run", os.W_OK) else None))
    data = Path(tempfile.mkdtemp(prefix="iocompare-dockerd-data-", dir="/var/tmp"))
    host = f"unix://{root}/docker.sock"
    argv = ["dockerd", "--iptables=false", "--bridge=none", "--host", host, "--pidfile", str(root / "dockerd.pid"),
            "--data-root", str(data), "--exec-root", str(root / "exec")]  # fmt: skip
    log = (root / "dockerd.log").open("w")
    daemon = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "version"], capture_output=True, timeout=30, check=False).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail("dockerd did not start:\n" + (root / "dockerd.log").read_text()[-3000:])
            time.sleep(0.2)
        reset_cache()
        yield host
    finally:
        if previous is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = previous
        reset_cache()
        daemon.send_signal(signal.SIGTERM)  # by PID: only the daemon this fixture started
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(timeout=30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def guest_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache directory holding a built microVM guest image (`iocompare image build --kind guest`,
    the real Debian kernel). Kept in pytest's cache directory, so later sessions build warm."""
    from iocompare.environments.microvm.image import GuestBuilder

    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    directory = Path(cache.mkdir("iocompare-guest-cache")) if cache else tmp_path_factory.mktemp("guest-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IOCOMPARE_CACHE_DIR", str(directory))
        for name in ("IOCOMPARE_GUEST_KERNEL", "IOCOMPARE_GUEST_MODULES", "IOCOMPARE_GUEST_IMAGE"):
            patch.delenv(name, raising=False)
        GuestBuilder().build()
    return directory


@pytest.fixture
def guest_image(guest_cache: Path, monkeypatch: pytest.MonkeyPatch):
    """The built guest image, with IOCOMPARE_CACHE_DIR pointing at it for this test."""
    from iocompare.environments.microvm.image import find_image

    monkeypatch.setenv("IOCOMPARE_CACHE_DIR", str(guest_cache))
    for name in ("IOCOMPARE_GUEST_KERNEL", "IOCOMPARE_GUEST_MODULES", "IOCOMPARE_GUEST_IMAGE", "IOCOMPARE_QEMU_BINARY"):
        monkeypatch.delenv(name, raising=False)
    image = find_image()
    assert image is not None
    return image
