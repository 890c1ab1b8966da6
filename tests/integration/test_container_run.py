"""Docker and Podman for real: one run next to the host, every storage variant, cleanup on every
exit path, and the bad-input paths. Trials are short (1 s, 32 MiB working set)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from iocompare.cli.main import main
from iocompare.engines.fio_binary import find_fio
from iocompare.environments.container import instance as container_instance
from iocompare.environments.container import preflight as container_preflight
from iocompare.environments.container.image import ensure_image
from iocompare.store import Store

pytestmark = pytest.mark.integration

PODMAN_ENVS = ("podman", "podman:volume", "podman:overlay", "podman:tmpfs")
DOCKER_ENVS = ("docker", "docker:volume", "docker:overlay", "docker:tmpfs")


def engine_names(engine: str, *args: str) -> list[str]:
    done = subprocess.run([engine, *args], capture_output=True, text=True, timeout=60, check=True)
    return [line for line in done.stdout.split() if line]


def ours(engine: str) -> list[str]:
    """Containers and volumes this test process created that still exist."""
    label = f"label=iocompare.pid={os.getpid()}"
    return engine_names(engine, "ps", "-a", "--filter", label, "--format", "{{.Names}}") + engine_names(
        engine, "volume", "ls", "--filter", label, "--format", "{{.Name}}"
    )


def without_references(suite: Path) -> Path:
    """The suite exactly as asked: no host and reference cells added for comparisons."""
    suite.write_text("references = false\n" + suite.read_text())
    return suite


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "target"
    path.mkdir()
    return path


def test_host_and_every_container_variant_in_one_run(
    capsys, tiny_suite, isolated_db, target, docker_daemon, fresh_engines
):
    envs = ("host", *PODMAN_ENVS, *DOCKER_ENVS)
    suite = without_references(tiny_suite(environments=envs))  # host is in the list already
    code, out, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target))
    assert code == 0, err + out
    assert os.listdir(target) == []  # scratch and job directories removed
    assert ours("podman") == [] and ours("docker") == []

    code, out, err = run_cli(capsys, "report", "latest", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    cells = {(c["key"], c["environment"]): c for c in report["cells"]}
    assert {env for _, env in cells} == set(envs)
    host = cells[("rand-read@4k", "host")]
    for env in envs[1:]:
        cell = cells[("rand-read@4k", env)]
        assert cell["n"] == 1 and cell["read"]["iops"] > 0, env
        facts = cell["facts"]
        kind, _, variant = env.partition(":")
        assert facts["engine"] == kind and facts["engine_version"]
        assert facts["mount_kind"] == (variant or "bind")
        assert facts["fio_version_inside"] == facts["fio_version"] == host["facts"]["fio_version"]
        assert facts["image"].startswith("iocompare-fio:") and len(facts["image_hash"]) == 64
        assert facts["runtime"] and facts["cgroup_manager"] and facts["storage_driver"] and facts["container_config"]
        assert facts["fs_type_inside"] == facts["fs_type"]
        assert cell["monitor"]["host_cpu_pct"] is not None
    for kind in ("podman", "docker"):
        assert cells[("rand-read@4k", kind)]["facts"]["fs_type_inside"] == host["facts"]["fs_type"]
        assert cells[("rand-read@4k", f"{kind}:overlay")]["facts"]["fs_type_inside"] == "overlay"
        tmpfs = cells[("rand-read@4k", f"{kind}:tmpfs")]["facts"]
        assert tmpfs["fs_type_inside"] == "tmpfs" and tmpfs["memory_backed"] == "yes"
        assert tmpfs["working_set_laid_out_per_trial"] == "yes"
        assert cells[("rand-read@4k", f"{kind}:volume")]["facts"]["volume"].startswith("iocompare-")
        assert "memory_backed" not in cells[("rand-read@4k", kind)]["facts"]

    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("latest"))
        for stored in run.trials:
            if stored.trial.environment == "host":
                continue
            assert stored.facts["container"].startswith("iocompare-")
            assert float(stored.facts["container_start_s"]) > 0
            assert float(stored.facts["container_cgroup_cpu_s"]) > 0  # the container's cgroup CPU over the fio run
            samples = store.samples(stored.id)
            # fio ran in the container's cgroup and its CPU was seen from the host.
            assert any(s.proc_cpu_pct for s in samples), stored.trial.environment


def test_ctrl_c_mid_trial_removes_containers_and_volumes(
    capsys, tiny_suite, isolated_db, target, docker_daemon, fresh_engines, monkeypatch
):
    started = []

    def interrupted(self, job_text, *, timeout_s):
        started.append(self.name)
        assert self.name in engine_names(self._env.kind, "ps", "--format", "{{.Names}}")  # it is running
        raise KeyboardInterrupt

    monkeypatch.setattr(container_instance.ContainerInstance, "run_fio", interrupted)
    suite = tiny_suite(environments=("podman:volume", "docker:volume"))
    code, _, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target))
    assert code == 130 and "interrupted" in err
    assert started
    assert ours("podman") == [] and ours("docker") == []
    assert os.listdir(target) == []


def test_leftovers_of_a_dead_run_are_removed_at_the_next_start(capsys, tiny_suite, isolated_db, target, fresh_engines):
    dead = subprocess.Popen(["true"])
    dead.wait()
    labels = ["--label", "iocompare.run=deadbeef", "--label", f"iocompare.pid={dead.pid}",
              "--label", "iocompare.pid_start=1.00", "--label", f"iocompare.host={os.uname().nodename}"]  # fmt: skip
    alive = [
        "--label",
        "iocompare.run=alive",
        "--label",
        f"iocompare.pid={os.getpid()}",
        "--label",
        f"iocompare.host={os.uname().nodename}",
    ]
    tag = ensure_image("podman", find_fio().path).name
    engine = container_preflight.ready_engine("podman", tag)
    name, keep, volume = (
        f"iocompare-deadbeef-podman-{dead.pid}",
        f"iocompare-alive-podman-{os.getpid()}",
        f"iocompare-deadbeef-v-{dead.pid}",
    )
    engine.call(
        "run",
        "-d",
        "--stop-timeout=0",
        "--name",
        name,
        *labels,
        "--network=none",
        *engine.run_args(),
        tag,
        "/bin/sleep",
        "infinity",
    )
    engine.call(
        "run",
        "-d",
        "--stop-timeout=0",
        "--name",
        keep,
        *alive,
        "--network=none",
        *engine.run_args(),
        tag,
        "/bin/sleep",
        "infinity",
    )
    engine.call("volume", "create", *labels, volume)
    try:
        code, _, err = run_cli(capsys, "run", "--suite", str(tiny_suite()), "--target", str(target))
        assert code == 0, err
        assert f"removed podman leftover {name}" in err and f"removed podman leftover {volume}" in err
        everything = engine_names("podman", "ps", "-a", "--format", "{{.Names}}") + engine_names(
            "podman", "volume", "ls", "--format", "{{.Name}}"
        )
        assert name not in everything and volume not in everything
        assert keep in everything  # its owner (this process) is alive
    finally:
        for container in (name, keep):
            engine.call(*engine.remove_container_args(container), check=False)
        engine.call("volume", "rm", "-f", volume, check=False)


def test_docker_daemon_down_is_unavailable_with_reason_and_the_rest_runs(
    capsys, tiny_suite, isolated_db, target, fresh_engines, monkeypatch, tmp_path
):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    code, out, _ = run_cli(capsys, "envs")
    assert code == 0
    line = next(line for line in out.splitlines() if "docker:volume" in line)
    assert "unavailable: the Docker daemon is not running" in line
    suite = str(tiny_suite(environments=("host", "docker")))
    # Asked for and unable to run: bad input, before anything is written.
    code, out, err = run_cli(capsys, "run", "--suite", suite, "--target", str(target))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--skip-unavailable" in lines[0], err
    assert lines[0].startswith("iocompare: error: environment docker cannot run here: the Docker daemon is not running")
    assert not isolated_db.exists()
    code, out, err = run_cli(capsys, "run", "--suite", suite, "--target", str(target), "--skip-unavailable")
    assert code == 0, err
    assert "skipping environment docker: the Docker daemon is not running" in err
    code, _, err = run_cli(
        capsys,
        "run",
        "--suite",
        str(without_references(tiny_suite(environments=("docker",)))),
        "--target",
        str(target),
        "--skip-unavailable",
    )
    assert code == 2 and err.count("\n") == 1 and "none of the requested environments can run here" in err


def test_podman_missing_is_unavailable_with_reason(capsys, fresh_engines, monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    code, out, _ = run_cli(capsys, "envs")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("│ podman:overlay"))
    assert "podman is not installed" in line


def test_fio_version_mismatch_stops_the_run_with_exit_2(
    capsys, tiny_suite, isolated_db, target, fresh_engines, monkeypatch
):
    from iocompare.environments.container import environment as container

    monkeypatch.setattr(container, "inside_fio_version", lambda engine, image: "fio-3.1")
    code, out, err = run_cli(
        capsys, "run", "--suite", str(tiny_suite(environments=("host", "podman"))), "--target", str(target)
    )
    assert code == 2, err + out
    lines = err.strip().splitlines()
    assert (
        lines[-1].startswith("iocompare: error: fio in podman image iocompare-fio:")
        and "is fio-3.1, the host's is fio-" in lines[-1]
    )
    assert "iocompare image build --kind podman --force" in lines[-1]
    assert not isolated_db.exists()  # stopped before anything was stored
    assert ours("podman") == [] and os.listdir(target) == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--env", "podman:nfs"], "unknown environment 'podman:nfs'"),
        (["image", "rm", "nosuchimage", "--kind", "podman"], "no podman image 'nosuchimage' built by iocompare"),
        (["image", "build", "--kind", "lxc"], "unknown image kind 'lxc'"),
    ],
)
def test_container_bad_input_is_one_line_exit_2(capsys, isolated_db, fresh_engines, argv, fragment):
    code, _, err = run_cli(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and fragment in lines[-1] and lines[-1].startswith("iocompare: error:"), err


def test_bad_container_setting_is_bad_input(capsys, tiny_suite, isolated_db, target, fresh_engines, monkeypatch):
    monkeypatch.setenv("IOCOMPARE_PODMAN_CGROUP_MANAGER", "upstart")
    code, out, _ = run_cli(capsys, "envs")
    assert code == 0 and "IOCOMPARE_PODMAN_CGROUP_MANAGER='upstart'" in out.replace("\n", "").replace("│", "").replace(
        " ", ""
    )
    code, _, err = run_cli(
        capsys, "run", "--suite", str(without_references(tiny_suite(environments=("podman",)))), "--target", str(target)
    )
    assert code == 2 and "IOCOMPARE_PODMAN_CGROUP_MANAGER" in err


def test_instance_reports_its_cgroup_cpu_and_fio_runs_in_its_cgroup(tmp_path, fresh_engines):
    """Directly through the Environment API: what the runner sees of one podman trial."""
    import threading
    import uuid

    import psutil
    from builders import MiB, make_cell

    from iocompare.engines.fio_job import render_job
    from iocompare.environments import registry
    from iocompare.environments.base import RunContext
    from iocompare.system.resources import RunResources

    cell = make_cell(runtime_s=2, ramp_s=0, working_set_bytes=32 * MiB)
    context = RunContext(
        target=tmp_path, run_tag=uuid.uuid4().hex[:8], fio=find_fio(), resources=RunResources("t", persist=False)
    )
    environment = registry.create("podman:overlay", context)
    seen: set[str] = set()
    with environment:
        environment.ensure_working_set(cell.working_set_bytes, timeout_s=120)
        with environment.instance() as instance:
            facts = instance.prepare()
            assert facts["working_set_laid_out_per_trial"] == "yes"
            stop = threading.Event()

            def watch():
                while not stop.wait(0.2):
                    for pid in instance.pids_to_monitor():
                        with contextlib.suppress(psutil.NoSuchProcess):
                            seen.update(
                                p.name() for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
                            )

            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                raw = instance.run_fio(
                    render_job(cell, filename=environment.working_set_path(cell.working_set_bytes), seed=1),
                    timeout_s=60,
                )
            finally:
                stop.set()
                watcher.join()
            after = instance.after_run_facts()
        assert context.resources.items() and all(r.kind != "container" for r in context.resources.items())
    assert raw.exit_code == 0 and json.loads(raw.output_json)["jobs"]
    assert "fio" in seen  # exec-ed fio is found through the container's cgroup
    assert float(after["container_cgroup_cpu_s"]) > 0 and after["container_cgroup"]
    assert context.resources.items() == () and os.listdir(tmp_path) == []
