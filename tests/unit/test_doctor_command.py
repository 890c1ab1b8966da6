"""`iocompare doctor` says per environment what works and what to do; an unknown name is bad input;
exit 1 when an environment asked for by name does not work (or, by default, when nothing does)."""

from __future__ import annotations

import pytest

from iocompare.cli import doctor as cli
from iocompare.cli.main import main
from iocompare.doctor.steps import EnvironmentReport, Step

WORKS = (Step.ok("fio", "fio-3.33"), Step.ok("1 s fio", "52 MiB/s"))
TCG = (
    Step.ok("fio", "fio-3.33"),
    Step.fail("kvm or tcg", "software emulation: tcg", "a KVM host"),
    Step.ok("1 s fio", "6 MiB/s"),
)
BROKEN = (
    Step.fail("binary", "firecracker not found on PATH", "install it"),
    Step.skipped("1 s fio", "a step before it failed"),
)


@pytest.fixture
def fake_checks(monkeypatch):
    table = {"host": WORKS, "qemu": TCG, "firecracker": BROKEN}
    monkeypatch.setattr(cli, "check_environment", lambda name, **_: EnvironmentReport(name, table.get(name, BROKEN)))


def test_doctor_reports_each_environment_with_what_to_do(fake_checks, capsys):
    assert main(["doctor", "--env", "host", "--env", "qemu", "--env", "firecracker"]) == 1
    out = capsys.readouterr().out
    assert "host: works" in out and "qemu: works, under software emulation (results flagged)" in out
    assert "firecracker: does not work here" in out and "what to do: install it" in out
    assert "--   1 s fio: not tried" in out  # a skipped step is never shown as passed
    assert "usable here: host, qemu" in out and "iocompare run --env host --env qemu" in out


def test_doctor_exit_codes(fake_checks, capsys, monkeypatch):
    assert main(["doctor", "--env", "host", "--env", "qemu"]) == 0
    monkeypatch.setattr(cli, "DEFAULT_ENVIRONMENTS", ("host", "firecracker"))
    assert main(["doctor"]) == 0  # by default: something works
    assert main(["doctor", "--env", "nope"]) == 2
    assert "unknown environment 'nope'" in capsys.readouterr().err
