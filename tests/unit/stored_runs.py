"""A hostile-but-plausible stored run for the report, export and import tests: two environments
whose names and workload names are user input that must be escaped everywhere."""

from __future__ import annotations

from pathlib import Path

from analysis_runs import DISK_FACTS, HOST_FACTS, MiB, RunBuilder, seq_write_cell
from builders import make_cell, make_fio_run

from iocompare.store import RunStatus, Store

EVIL = "<script>alert(1)</script>"
EVIL_WORKLOAD = 'rr "$x$" <b>&amp;'
READ = make_cell(workload=EVIL_WORKLOAD)
WRITES = [seq_write_cell(1 << 20), seq_write_cell(4 << 20)]
QEMU_FACTS = {**DISK_FACTS, "vmm": "qemu", "accelerator": "tcg",
              "timing_caveat": "software emulation (TCG): timings do not represent a KVM host",
              "drive_cache": "none", "drive_aio": "io_uring", "drive_interface": "virtio-blk (virtio-mmio)",
              "disk_image": "/var/tmp/x/disk.img"}  # fmt: skip


def hostile_builder() -> RunBuilder:
    b = RunBuilder(
        {"host": ("host", dict(DISK_FACTS)), EVIL: ("qemu", dict(QEMU_FACTS))},
        host_facts={**HOST_FACTS, "cpu_count": "2"},
    )
    for env, factor in (("host", 1.0), (EVIL, 0.8)):
        b.add_values(READ, env, [v * MiB * factor for v in (1000.0, 1010.0, 990.0, 1005.0, 995.0)])
        for cell in WRITES:
            b.add_values(cell, env, [v * MiB * factor for v in (2000.0, 2020.0, 1990.0)])
    return b


def store_run(db: Path, b: RunBuilder, name: str = "evil-run") -> int:
    """Write a RunBuilder's run through the real Store, as `iocompare run` would."""
    run = b.build()
    with Store.open(db) as s:
        run_id = s.create_run(
            name=name, suite_name=f"suite {EVIL}", suite_json="{}", settings={"target": "/mnt/t"},
            host_facts=run.host_facts,
            environments=[(env, kind, facts) for env, (kind, facts) in run.environments.items()], cells=run.cells,
        )  # fmt: skip
        for t in run.trials:
            s.record_trial(run_id, t.trial, status=t.status, reason=t.reason, started_at=float(t.id),
                           ended_at=t.id + 1.0, result=t.result, raw=make_fio_run(), facts=t.facts,
                           samples=b.samples.get(t.id, []))  # fmt: skip
        s.finish_run(run_id, RunStatus.COMPLETE)
    return run_id
