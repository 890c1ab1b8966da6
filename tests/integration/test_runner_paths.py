"""Failure, interruption and refusal paths of a real run on the host."""

from __future__ import annotations

import os
import subprocess

import pytest

from iocompare.cli.main import main
from iocompare.environments import host
from iocompare.execute import runner
from iocompare.model import TrialStatus
from iocompare.store import Store

pytestmark = pytest.mark.integration


def latest(db):
    with Store.open(db) as store:
        return store.load_run(store.resolve_run("latest"))


def test_fio_failure_is_recorded_with_its_error_and_exit_code_1(tmp_path, capsys, tiny_suite, isolated_db, monkeypatch):
    real_render = runner.render_job

    def broken_job(cell, *, filename, seed):
        text = real_render(cell, filename=filename, seed=seed)
        # A real fio failure: fio refuses an option it does not know.
        return text + "no_such_fio_option=1\n" if cell.workload == "seq-write" else text

    monkeypatch.setattr(runner, "render_job", broken_job)
    target = tmp_path / "t"
    target.mkdir()
    code = main(["run", "--suite", str(tiny_suite()), "--target", str(target)])
    out = capsys.readouterr().out
    assert code == 1 and "1 trial(s) failed" in out
    run = latest(isolated_db)
    assert run.info.status.value == "failed"
    by_workload = {t.trial.cell.workload: t for t in run.trials}
    assert by_workload["rand-read"].status is TrialStatus.OK
    failed = by_workload["seq-write"]
    assert failed.status is TrialStatus.FAILED and "no_such_fio_option" in failed.reason
    assert os.listdir(target) == []


def test_interrupt_keeps_finished_trials_and_cleans_up(tmp_path, capsys, tiny_suite, isolated_db, monkeypatch):
    calls = {"n": 0}
    real_run = host.HostInstance.run_fio

    def interrupt_second(self, job_text, *, timeout_s):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_run(self, job_text, timeout_s=timeout_s)

    monkeypatch.setattr(host.HostInstance, "run_fio", interrupt_second)
    target = tmp_path / "t"
    target.mkdir()
    code = main(["run", "--suite", str(tiny_suite()), "--target", str(target)])
    err = capsys.readouterr().err
    assert code == 130 and "finished trials of run 1 are kept" in err and "iocompare run --resume 1" in err
    run = latest(isolated_db)
    assert run.info.status.value == "interrupted"
    assert [t.status for t in run.trials] == [TrialStatus.OK]
    assert os.listdir(target) == []


def test_buffered_io_with_small_working_set_is_refused_not_run(tmp_path, capsys, isolated_db):
    suite = tmp_path / "buffered.toml"
    suite.write_text(
        'name = "buffered"\nruntime_s = 1\nramp_s = 0\nrepeat = 1\nmax_repeat = 1\ndirect = false\n'
        '[working_set]\nsize = "16m"\n'
        '[[workloads]]\nname = "rr"\npattern = "rand-read"\n'
    )
    target = tmp_path / "t"
    target.mkdir()
    assert main(["run", "--suite", str(suite), "--target", str(target)]) == 1  # nothing measured: every trial refused
    out = capsys.readouterr().out
    assert "refused" in out and "would measure memory" in out
    (trial,) = latest(isolated_db).trials
    assert trial.status is TrialStatus.REFUSED and trial.result is None


def test_read_only_target_is_bad_input(tmp_path, capsys, isolated_db):
    target = tmp_path / "ro"
    target.mkdir()
    if os.geteuid() == 0:
        # root ignores permission bits, so make the directory a read-only bind mount instead
        subprocess.run(["mount", "--bind", str(target), str(target)], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
    else:
        target.chmod(0o555)
    try:
        code = main(["run", "--target", str(target)])
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(target)], check=True)
    err = capsys.readouterr().err
    assert code == 2 and f"target directory {target} is not writable" in err
    assert not isolated_db.exists()


def test_a_a_run_adds_adaptive_rounds_up_to_the_cap(tmp_path, capsys, isolated_db):
    suite = tmp_path / "aa.toml"
    suite.write_text(
        'name = "aa"\nruntime_s = 1\nramp_s = 0\nrepeat = 2\nmax_repeat = 3\nenvironments = ["host", "host:twin"]\n'
        '[working_set]\nsize = "32m"\n[[workloads]]\nname = "rr"\npattern = "rand-read"\nblock_sizes = ["4k"]\n'
    )
    target = tmp_path / "t"
    target.mkdir()
    assert main(["run", "--suite", str(suite), "--target", str(target)]) == 0
    run = latest(isolated_db)
    per_env = {}
    for stored in run.trials:
        per_env[stored.trial.environment] = per_env.get(stored.trial.environment, 0) + 1
    assert set(per_env) == {"host", "host:twin"}
    assert all(2 <= n <= 3 for n in per_env.values()) and per_env["host"] == per_env["host:twin"]
    assert set(run.settings["stopping"]) == {"rr@4k"}
    assert os.listdir(target) == []
