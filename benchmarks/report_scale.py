"""Report generation at scale: a stored run of 10,000 trials (written with the Store API from the
test builders: 20 workloads x 5 block sizes x 4 environments x 25 trials, 25 monitor samples per
trial), then `iocompare report RUN --format html --output FILE` run as a user would, in a child
process. Prints its wall time and peak memory (the child's maximum resident set size, which
includes the Python interpreter, numpy and matplotlib) against the targets: under 10 s and under
500 MiB on the build machines (2 shared cores). The Markdown directory with PNG charts is timed too.

    .venv/bin/python benchmarks/report_scale.py [--trials-per-cell 25] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "unit"))  # builders of real model objects

from analysis_runs import result_for
from builders import make_cell, make_trial

from iocompare.model import Pattern, Sample, TrialStatus
from iocompare.store import RunStatus, Store

TARGET_S = 10.0
TARGET_MIB = 500.0
BLOCKS = (4096, 65536, 1 << 20, 2 << 20, 8 << 20)
DISK = {
    "fs_type": "ext4",
    "mount_point": "/var/tmp",
    "mount_options": "rw,relatime",
    "device": "vda",
    "logical_block_size": "512",
    "fio_version": "fio-3.33",
}
ENVIRONMENTS = (
    ("host", "host", {"kind": "host", **DISK}),
    ("podman", "podman", {"kind": "podman", "mount_kind": "bind", "runtime": "runc", "cgroup_manager": "cgroupfs",
                          "host_fs_type": "ext4", **DISK}),
    ("qemu", "qemu", {"kind": "qemu", "vmm": "qemu", "accelerator": "tcg",
                      "timing_caveat": "software emulation (TCG): timings do not represent a KVM host",
                      "drive_cache": "none", "drive_aio": "io_uring", "drive_interface": "virtio-blk (virtio-mmio)",
                      "disk_image": "/var/tmp/x/disk.img", **DISK}),
    ("docker", "docker", {"kind": "docker", "mount_kind": "volume", "runtime": "runc", "host_fs_type": "ext4", **DISK}),
)  # fmt: skip
SPEED = {"host": 1.0, "podman": 0.98, "qemu": 0.55, "docker": 0.97}


def build(db: Path, trials_per_cell: int) -> int:
    patterns = [p for p in Pattern if p is not Pattern.FSYNC_PROBE]
    cells = []
    for w in range(20):
        pattern = patterns[w % len(patterns)]
        for block in BLOCKS:
            cells.append(make_cell(workload=f"w{w:02d}-{pattern.value}", pattern=pattern, block_size_bytes=block,
                                   iodepth=32 if block < 1 << 20 else 16, read_percent=70 if pattern.mixed else None,
                                   runtime_s=10, ramp_s=2))  # fmt: skip
    rng = random.Random(7)
    index = 0
    with Store.open(db) as store:
        run_id = store.create_run(
            name="scale", suite_name="scale", suite_json="{}", settings={"target": "/var/tmp"},
            host_facts={"hostname": "bench", "kernel": "6.1.0", "cpu_model": "x86", "cpu_count": "2",
                        "memory_bytes": str(24 << 30)},
            environments=list(ENVIRONMENTS), cells=cells,
        )  # fmt: skip
        for round_ in range(trials_per_cell):
            for cell in cells:
                for env, _, _ in ENVIRONMENTS:
                    bw = (
                        1.5e9
                        * SPEED[env]
                        * (1 + 0.04 * rng.gauss(0, 1))
                        * (0.3 if cell.block_size_bytes == 4096 else 1.0)
                    )
                    result = result_for(cell, bw)
                    rb = result.read.io_bytes if result.read else 0
                    wb = result.write.io_bytes if result.write else 0
                    samples = [Sample(k * 0.5, 30 + 5 * rng.random(), 80 + 10 * rng.random(),
                                      int(rb * 1.02 * k / 24), int(wb * 1.02 * k / 24), 100 << 30)
                               for k in range(25)]  # fmt: skip
                    trial = make_trial(index, round=round_, cell=cell, environment=env)
                    store.record_trial(run_id, trial, status=TrialStatus.OK, reason=None, started_at=float(index),
                                       ended_at=index + 12.0, result=result, raw=None, facts={},
                                       samples=samples)  # fmt: skip
                    index += 1
        store.finish_run(run_id, RunStatus.COMPLETE)
    return index


def timed_child(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process; children are waited for one at a time,
    so RUSAGE_CHILDREN's maximum is this child's once it exceeds the earlier ones."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials-per-cell", type=int, default=25)
    parser.add_argument("--keep", type=Path, help="write the database and reports here and keep them")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="iocompare-report-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "scale.db"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    trials = build(db, args.trials_per_cell)
    print(
        f"stored run: {trials:,} trials, 100 cells x 4 environments, "
        f"25 samples per trial ({time.perf_counter() - start:.1f} s to write)"
    )
    cli = [sys.executable, "-m", "iocompare"]
    html = workdir / "report.html"
    wall, rss = timed_child([*cli, "report", "scale", "--db", str(db), "--format", "html", "--output", str(html)])
    print(f"html report:      {wall:6.2f} s (target < {TARGET_S:g} s: {'ok' if wall < TARGET_S else 'MISSED'}), "
          f"peak RSS {rss:6.1f} MiB (target < {TARGET_MIB:g} MiB: {'ok' if rss < TARGET_MIB else 'MISSED'}), "
          f"{html.stat().st_size / 1e6:.1f} MB, {html.read_text().count('<svg')} charts")  # fmt: skip
    wall, rss_md = timed_child(
        [*cli, "report", "scale", "--db", str(db), "--format", "markdown", "--output", str(workdir / "md")]
    )
    print(
        f"markdown + PNGs:  {wall:6.2f} s, peak RSS (max of both children) {rss_md:6.1f} MiB, "
        f"{len(list((workdir / 'md').glob('*.png')))} PNG files"
    )
    wall, _ = timed_child([*cli, "report", "scale", "--db", str(db), "--format", "json"])
    print(f"json report:      {wall:6.2f} s (the analysis alone, for reference)")
    if args.keep is None:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
