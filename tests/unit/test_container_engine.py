"""Container engines without an engine: settings, known failures and their fixes, argv, probes."""

from __future__ import annotations

import pytest

from iocompare.environments.container import engine as ce
from iocompare.environments.container import probe as cp
from iocompare.environments.container.engine import ConfigError, Engine, RuntimeConfig
from iocompare.system.proc import Completed

HYBRID = "Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2"
RLIMIT = (
    "Error: runc: runc create failed: error setting rlimits for ready process: "
    "error setting rlimit type 7: operation not permitted"
)


def completed(code: int, stderr: str = "") -> Completed:
    return Completed(("podman", "run"), code, "", stderr, 0.1)


def test_ulimits_parse_and_reject():
    assert ce.parse_ulimits("nofile=1024:1024,nproc=4096") == ("nofile=1024:1024", "nproc=4096")
    assert ce.parse_ulimits("nofile=1024:1024 nproc=4096:4096") == ("nofile=1024:1024", "nproc=4096:4096")
    assert ce.parse_ulimits("none") == () and ce.parse_ulimits("") == ()
    for bad in ("nofile", "files=1", "nofile=a:b", "nofile=1:2:3"):
        with pytest.raises(ConfigError, match="IOCOMPARE_CONTAINER_ULIMITS"):
            ce.parse_ulimits(bad)


def test_configured_from_environment_variables():
    config = ce.configured(
        "podman",
        {
            "IOCOMPARE_PODMAN_RUNTIME": "runc",
            "IOCOMPARE_PODMAN_CGROUP_MANAGER": "cgroupfs",
            "IOCOMPARE_CONTAINER_ULIMITS": "nofile=64:64",
        },
    )
    assert (config.runtime, config.cgroup_manager, config.ulimits) == ("runc", "cgroupfs", ("nofile=64:64",))
    assert config.explicit == {"runtime", "cgroup_manager", "ulimits"} and config.source == "environment variables"
    assert ce.configured("docker", {}) == RuntimeConfig()
    with pytest.raises(ConfigError, match="daemon setting"):
        ce.configured("docker", {"IOCOMPARE_DOCKER_CGROUP_MANAGER": "cgroupfs"})
    with pytest.raises(ConfigError, match="cgroupfs or systemd"):
        ce.configured("podman", {"IOCOMPARE_PODMAN_CGROUP_MANAGER": "nope"})


@pytest.fixture
def runc_installed(monkeypatch):
    monkeypatch.setattr(ce.shutil, "which", lambda name: f"/usr/sbin/{name}")


def test_known_failures_are_fixed_one_after_another(runc_installed):
    tried: list[RuntimeConfig] = []
    answers = iter([completed(126, HYBRID), completed(126, RLIMIT), completed(0)])

    def attempt(config):
        tried.append(config)
        return next(answers)

    config, reason = ce.resolve("podman", RuntimeConfig(), attempt)
    assert reason is None and config is not None
    assert (config.runtime, config.cgroup_manager, config.ulimits) == ("runc", "cgroupfs", ce.FALLBACK_ULIMITS)
    assert len(tried) == 3 and tried[0] == RuntimeConfig()
    assert "fallback: crun: cgroups in hybrid mode not supported" in config.source
    assert "rlimits" in config.source


def test_default_config_that_works_is_kept(runc_installed):
    config, reason = ce.resolve("podman", RuntimeConfig(), lambda c: completed(0))
    assert reason is None and config == RuntimeConfig() and config.source == "engine defaults"


def test_explicit_setting_is_never_overridden_and_the_hint_names_the_variables(runc_installed):
    explicit = RuntimeConfig(ulimits=("nofile=1048576:1048576",), explicit=frozenset({"ulimits"}))
    config, reason = ce.resolve("podman", explicit, lambda c: completed(126, RLIMIT))
    assert config is None
    assert "podman cannot start a container" in reason and "operation not permitted" in reason
    for name in ("IOCOMPARE_PODMAN_RUNTIME", "IOCOMPARE_PODMAN_CGROUP_MANAGER", "IOCOMPARE_CONTAINER_ULIMITS"):
        assert name in reason


def test_unknown_failure_is_reported_in_one_line(runc_installed):
    config, reason = ce.resolve("docker", RuntimeConfig(), lambda c: completed(125, "Error: something odd\nmore"))
    assert config is None and reason.startswith(
        "docker cannot start a container: something odd (hint: set IOCOMPARE_DOCKER_RUNTIME"
    )
    assert "\n" not in reason


def test_runtime_fallback_needs_runc_installed(monkeypatch):
    monkeypatch.setattr(ce.shutil, "which", lambda name: None)
    config, reason = ce.resolve(
        "podman", RuntimeConfig(), lambda c: completed(126, HYBRID) if c.runtime is None else completed(0)
    )
    # cgroupfs alone is tried (it is a podman setting, no binary needed); crun still fails.
    assert config is None and "hybrid mode" in reason


def test_argv_of_each_engine():
    config = RuntimeConfig("runc", "cgroupfs", ("nofile=1024:1024",))
    podman = Engine("podman", "/usr/bin/podman", config)
    assert podman.argv("ps") == ["/usr/bin/podman", "--cgroup-manager=cgroupfs", "--runtime=runc", "ps"]
    assert podman.run_args() == ["--ulimit", "nofile=1024:1024"]
    assert podman.remove_container_args("a") == ["rm", "-f", "-t", "0", "a"]
    docker = Engine("docker", "/usr/bin/docker", RuntimeConfig("runc", None, ("nproc=10:10",)))
    assert docker.argv("ps") == ["/usr/bin/docker", "ps"]
    assert docker.run_args() == ["--runtime=runc", "--ulimit", "nproc=10:10"]
    assert docker.remove_container_args("a") == ["rm", "-f", "a"]


def test_daemon_and_permission_reasons():
    down = cp._daemon_reason(
        "docker", "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?"
    )
    assert down.startswith("the Docker daemon is not running") and "dockerd" in down
    denied = cp._daemon_reason("docker", "permission denied while trying to connect to the Docker daemon socket")
    assert denied.startswith("permission denied") and "docker group" in denied
    assert cp._daemon_reason("podman", "Error: boom\n") == "podman does not answer: boom"


def test_missing_cli_is_a_reason_with_the_package(monkeypatch):
    monkeypatch.setattr(cp.shutil, "which", lambda name: None)
    status = cp.probe("podman")
    assert status.reason == "podman is not installed (hint: apt-get install podman runc)"
    assert cp.probe("docker").reason == "docker is not installed (hint: apt-get install docker.io)"


def test_bad_setting_makes_the_engine_unavailable_with_the_reason(monkeypatch):
    monkeypatch.setattr(cp.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setenv("IOCOMPARE_CONTAINER_ULIMITS", "bogus")
    assert "IOCOMPARE_CONTAINER_ULIMITS='bogus'" in cp.probe("podman").reason


def test_labels_of_container_volume_and_image():
    assert ce.labels_of({"Config": {"Labels": {"a": "1"}}}) == {"a": "1"}
    assert ce.labels_of({"Labels": {"b": "2"}}) == {"b": "2"}
    assert ce.labels_of({"Config": {"Labels": None}, "Labels": None}) == {}
