"""QEMU's virtio-scsi drive model (`qemu:drive=scsi`) on the real QEMU, side by side with the
default virtio-blk in one run: the guest finds its test disk as an scsi-hd (/dev/sda) behind the
virtio-scsi adapter and fio reads it."""

from __future__ import annotations

import json
import os

import pytest

from iocompare.cli.main import main
from iocompare.report.io_path import describe, io_path
from iocompare.store import Store

pytestmark = pytest.mark.integration

SUITE = """
name = "scsi"
runtime_s = 1
ramp_s = 0
settle_s = 0
repeat = 1
max_repeat = 1
references = false
environments = ["qemu", "qemu:drive=scsi"]

[working_set]
size = "32m"

[[workloads]]
name = "rand-read"
pattern = "rand-read"
block_sizes = ["4k"]
"""


def test_a_trial_on_the_virtio_scsi_disk(tmp_path, capsys, isolated_db, guest_image):
    target = tmp_path / "target"
    target.mkdir()
    suite = tmp_path / "scsi.toml"
    suite.write_text(SUITE)
    code = main(["run", "--suite", str(suite), "--target", str(target), "--name", "scsi"])
    captured = capsys.readouterr()
    assert code == 0, captured.err + captured.out
    assert os.listdir(target) == []

    assert main(["report", "latest", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    environments = {environment["name"]: environment["facts"] for environment in report["environments"]}
    assert set(environments) == {"qemu", "qemu:drive=scsi"}
    assert environments["qemu"]["drive_model"] == "virtio-blk"
    facts = environments["qemu:drive=scsi"]
    assert facts["drive_model"] == "virtio-scsi" and facts["drive_interface"] == "virtio-scsi (virtio-mmio)"
    assert facts["guest_target"] == "raw virtio-scsi disk"
    assert "guest fio → virtio-scsi (virtio-mmio) → QEMU" in describe(io_path("qemu", facts))
    assert len(report["cells"]) == 2
    for cell in report["cells"]:
        assert cell["n"] == 1 and cell["read"]["iops"] > 0, cell

    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("latest"))
        trials = {stored.trial.environment: stored for stored in run.trials}
        assert set(trials) == {"qemu", "qemu:drive=scsi"}
        for stored in trials.values():
            assert stored.status.value == "ok", stored.reason
        scsi, blk = trials["qemu:drive=scsi"].facts, trials["qemu"].facts
        assert scsi["drive_model"] == "virtio-scsi" and scsi["guest_target_disk"] == "/dev/sda"  # the sd driver's
        assert blk["drive_model"] == "virtio-blk" and blk["guest_target_disk"].startswith("/dev/vd")
