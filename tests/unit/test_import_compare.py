"""Imported comparisons: files of a second environment join an imported run, cells matched by their
job options; every artifact check applies against the baseline label; a candidate that cannot be
true is "suspect", never "X % faster". Also: cells differ by every workload option, the same
content is refused, and numbers that cannot be true are refused naming the file and the field."""

from __future__ import annotations

import copy
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from iocompare.cli.main import main
from iocompare.engines.fio_import import read_files
from iocompare.store import Store

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "fio" / "shapes"
TEMPLATE = SHAPES / "fio-3.27_randwrite_4k_numjobs8_json.json"
BS = 128 << 10
RUNTIME_MS = 30_000


def fio_file(
    path: Path,
    *,
    bw_mib: float,
    target: str,
    stamp: int,
    clat_ns: float,
    extra: dict[str, str] | None = None,
    rw: str = "randwrite",
    bs: int = BS,
) -> Path:
    """A fio 3.27 json output of a random write (or read), direct=1, at `bw_mib` MiB/s."""
    doc: dict[str, Any] = json.loads(TEMPLATE.read_text())
    doc["timestamp"] = stamp
    job = doc["jobs"][0]
    side = "read" if rw == "randread" else "write"
    if side == "read":
        job["read"], job["write"] = job["write"], job["read"]
    job["job options"] = {"name": "rw128", "filename": target, "runtime": "30s", "time_based": "1",
                          "ioengine": "libaio", "direct": "1", "bs": str(bs), "iodepth": "16", "rw": rw,
                          "size": "64g", **(extra or {})}  # fmt: skip
    ios = int(bw_mib * (1 << 20) * RUNTIME_MS / 1000 / bs)
    write = job[side]
    write.update({"io_bytes": ios * bs, "io_kbytes": ios * bs // 1024, "bw_bytes": 1000 * ios * bs // RUNTIME_MS,
                  "bw": 1000 * ios * bs // RUNTIME_MS // 1024, "iops": round(1000 * ios / RUNTIME_MS, 6),
                  "runtime": RUNTIME_MS, "total_ios": ios})  # fmt: skip
    for block in ("slat_ns", "clat_ns", "lat_ns"):
        write[block]["N"] = ios
    write["clat_ns"].update({"mean": clat_ns, "min": clat_ns / 2, "max": clat_ns * 9})
    write["clat_ns"]["percentile"] = {k: clat_ns * (1 + float(k) / 100) for k in write["clat_ns"]["percentile"]}
    seen = {"write_ios": ios + 7, "read_ios": 2} if side == "write" else {"read_ios": ios + 7, "write_ios": 2}
    doc["disk_util"][0].update({"name": target.rsplit("/", 1)[-1], **seen})
    path.write_text(json.dumps(doc, indent=1))
    return path


def replicates(tmp: Path, name: str, target: str, bws: list[float], clat_ns: float) -> list[str]:
    tmp.mkdir(exist_ok=True)
    return [
        str(fio_file(tmp / f"{name}-{i}.json", bw_mib=bw, target=target, stamp=1_700_000_000 + i, clat_ns=clat_ns))
        for i, bw in enumerate(bws)
    ]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


BASE = [1000.0, 1012.0, 988.0, 1005.0, 996.0]


def test_a_candidate_at_2_2x_the_baseline_is_suspect_never_faster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The published case: a "direct" guest whose writes land in the host page cache reaches 2.2x
    the bare device. Five files a side, imported into one run as two environments."""
    db = str(tmp_path / "r.db")
    host = replicates(tmp_path / "h", "host", "/dev/nvme0n1", BASE, 900_000.0)
    vm = replicates(tmp_path / "v", "vm", "/dev/vdb", [b * 2.2 for b in BASE], 400_000.0)
    assert cli(capsys, "import", *host, "--env", "bare", "--run", "pub", "--db", db)[0] == 0
    code, out, err = cli(capsys, "import", *vm, "--env", "vmm", "--run", "pub", "--db", db)
    assert code == 0, err
    assert out.startswith("added 5 file(s) as run 1 (pub): 1 cell(s), 5 trial(s), environment vmm")
    with Store.open(Path(db), create=False) as store:
        run = store.load_run(1)
    assert list(run.environments) == ["bare", "vmm"] and len(run.cells) == 1 and len(run.trials) == 10
    facts = run.environments["vmm"][1]
    assert (facts["target_path"], facts["job_direct"], facts["job_ioengine"], facts["device"]) == (
        "/dev/vdb", "yes", "libaio", "vdb")  # fmt: skip
    code, out, err = cli(capsys, "report", "pub", "--baseline", "bare", "--db", db, "--format", "json")
    assert code == 0, err
    analysis = json.loads(out)["analysis"]
    (comparison,) = analysis["comparisons"]
    assert comparison["ratio"] == pytest.approx(2.2, rel=0.01)
    assert comparison["verdict"] == "suspect"
    assert comparison["text"].startswith("suspect: faster than the host")
    assert "faster (CI" not in json.dumps(analysis)
    assert all(not h.split("—")[0].rstrip().endswith("faster") for h in analysis["headlines"])
    # The terminal report says the same.
    code, out, _ = cli(capsys, "report", "pub", "--baseline", "bare", "--db", db)
    assert code == 0 and "suspect: faster than the host" in out and "120 % faster" not in out


def test_every_check_applies_against_the_baseline_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    host = replicates(tmp_path / "h", "host", "/dev/nvme0n1", BASE, 900_000.0)
    vm = replicates(tmp_path / "v", "vm", "/dev/vdb", [b * 1.02 for b in BASE], 880_000.0)
    assert cli(capsys, "import", *host, "--env", "bare", "--run", "pub", "--db", db)[0] == 0
    assert cli(capsys, "import", *vm, "--env", "vmm", "--run", "pub", "--db", db)[0] == 0
    code, out, err = cli(capsys, "report", "pub", "--baseline", "bare", "--db", db, "--format", "json")
    assert code == 0, err
    cells = json.loads(out)["cells"]
    assert sorted(c["environment"] for c in cells) == ["bare", "vmm"] and len({c["key"] for c in cells}) == 1
    checks = {(cell["environment"], c["id"]): c for cell in cells for c in cell["checks"]}
    # Measured against the baseline label, on recorded storage: evaluated, and it passes.
    assert checks[("vmm", "faster-than-host")]["status"] == "passed"
    assert "bare's throughput" in checks[("vmm", "faster-than-host")]["explanation"]
    assert checks[("bare", "faster-than-host")]["status"] == "not applicable"
    # fio's disk_util counted the device's requests: byte accounting is evaluated on them.
    assert checks[("vmm", "byte-accounting")]["status"] == "passed"
    assert checks[("vmm", "byte-accounting")]["evidence"]["counted"] == "IOs"
    # What the files cannot say stays "not evaluated", naming what is missing.
    not_evaluated = {k: c["explanation"] for k, c in checks.items() if c["status"] == "not evaluated"}
    assert "exit status" in not_evaluated[("vmm", "run-sanity")]
    assert "filesystem type" in not_evaluated[("vmm", "memory-filesystem")]
    assert "host_page_cache_in_path" in not_evaluated[("vmm", "working-set-vs-cache")]
    assert "fsync probe" in not_evaluated[("vmm", "flush-not-honoured")]


def test_disk_util_showing_the_device_missed_the_reads_fires_byte_accounting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((SHAPES / "fio-2.2.10_randread_4k_json.json").read_text())
    doc["disk_util"][0]["read_ios"] = 40  # of 61234 direct 4 KiB reads: a cache served them
    path = tmp_path / "cached.json"
    path.write_text(json.dumps(doc))
    db = str(tmp_path / "r.db")
    assert cli(capsys, "import", str(path), "--env", "x", "--run", "r", "--db", db)[0] == 0
    code, out, err = cli(capsys, "report", "r", "--db", db, "--format", "json")
    assert code == 0, err
    (cell,) = json.loads(out)["cells"]
    check = {c["id"]: c for c in cell["checks"]}["byte-accounting"]
    assert check["status"] == "fired" and check["evidence"]["read_share"] == pytest.approx(40 / 61234)
    assert "of fio's read IOs" in check["explanation"]


def test_cells_differ_by_every_workload_option(tmp_path: Path) -> None:
    plain = fio_file(tmp_path / "a.json", bw_mib=500, target="/dev/vdb", stamp=1, clat_ns=1e6)
    variants = {"fsync": "32", "fdatasync": "8", "sync": "dsync", "offset": "1g", "ioengine": "io_uring",
                "direct": "0", "numjobs": "2", "iodepth": "4", "size": "8g", "time_based": "0"}  # fmt: skip
    paths = [plain] + [
        fio_file(tmp_path / f"{k}.json", bw_mib=500 + i, target="/dev/vdb", stamp=2 + i, clat_ns=1e6, extra={k: v})
        for i, (k, v) in enumerate(variants.items())
    ]
    plan = read_files(paths)
    assert plan.errors == []
    keys = [t.cell.key for t in plan.trials]
    assert len(set(keys)) == len(paths), keys  # every option made a cell of its own
    by_file = {t.source.stem: t.cell.key for t in plan.trials}
    assert by_file["a"] == "rand-write-qd16@128k"
    assert by_file["fsync"] == "rand-write-qd16-fsync32@128k" and by_file["ioengine"] == "rand-write-qd16-io_uring@128k"
    assert by_file["direct"] == "rand-write-qd16-buffered@128k"
    # The same job again matches the same cell, in another import into the same run.
    again = read_files([fio_file(tmp_path / "b.json", bw_mib=510, target="/dev/vdb", stamp=99, clat_ns=1e6)])
    assert again.trials[0].identity == plan.trials[0].identity


def test_same_content_twice_is_refused_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    files = replicates(tmp_path / "h", "host", "/dev/nvme0n1", BASE[:2], 900_000.0)
    copy_of = tmp_path / "copy.json"
    copy_of.write_text(Path(files[0]).read_text())
    code, out, err = cli(capsys, "import", *files, str(copy_of), "--env", "bare", "--run", "r", "--db", db)
    assert code == 2 and out == ""
    [line] = err.strip().splitlines()
    assert f"nothing was stored: {copy_of}: the same content as {files[0]}, given before it" in line
    assert not Path(db).exists()
    assert cli(capsys, "import", *files, "--env", "bare", "--run", "r", "--db", db)[0] == 0
    code, _, err = cli(capsys, "import", str(copy_of), "--env", "other", "--run", "r", "--db", db)
    assert code == 2
    [line] = err.strip().splitlines()
    assert f"nothing was stored: {copy_of}: already imported into run r (the same content as {files[0]})" in line
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM run_environments").fetchone()[0] == 1


def test_files_join_only_imported_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    with Store.open(db) as store:
        store.create_run(name="measured", suite_name="quick", suite_json="{}", settings={}, host_facts={},
                         environments=[("host", "host", {})], cells=[])  # fmt: skip
    files = replicates(tmp_path / "h", "host", "/dev/nvme0n1", BASE[:1], 900_000.0)
    code, _, err = cli(capsys, "import", *files, "--env", "x", "--run", "measured", "--db", str(db))
    assert code == 2 and "was measured by iocompare, not imported" in err


BAD_VALUES = [("nan", math.nan), ("infinite", math.inf), ("negative", -4096), ("out of range", 1e30)]


@pytest.mark.parametrize(("why", "value"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
@pytest.mark.parametrize(
    "where",
    [("write", "bw_bytes"), ("write", "iops"), ("write", "io_bytes"), ("write", "clat_ns", "mean"), ("usr_cpu",)],
)
def test_numbers_that_cannot_be_true_are_refused_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], why: str, value: float, where: tuple[str, ...]
) -> None:
    doc = json.loads(TEMPLATE.read_text())
    bad = copy.deepcopy(doc)
    node = bad["jobs"][0]
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))  # json writes NaN and Infinity as fio never would
    db = tmp_path / "r.db"
    code, out, err = cli(capsys, "import", str(path), "--env", "x", "--run", "r", "--db", str(db))
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    field = "jobs[0]." + ".".join(where)
    assert f"nothing was stored: {path}: field {field} is " in first, first
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not db.exists()


def test_compare_lists_target_path_device_and_every_differing_job_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "r.db")
    a = replicates(tmp_path / "a", "a", "/dev/nvme0n1", BASE, 900_000.0)
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = [
        str(fio_file(b_dir / f"b-{i}.json", bw_mib=bw, target="/dev/vdb", stamp=1_800_000_000 + i, clat_ns=9e5,
                     extra={"norandommap": "1", "iodepth_batch_submit": "8"}))
        for i, bw in enumerate(BASE)
    ]  # fmt: skip
    assert cli(capsys, "import", *a, "--env", "disk", "--run", "before", "--db", db)[0] == 0
    assert cli(capsys, "import", *b, "--env", "disk", "--run", "after", "--db", db)[0] == 0
    code, out, err = cli(capsys, "compare", "before", "after", "--db", db, "--format", "json")
    assert code in (0, 1), err
    diffs = {(d["scope"], d["name"]): (d["baseline"], d["candidate"]) for d in json.loads(out)["differences"]}
    assert diffs[("environment disk", "target_path")] == ("/dev/nvme0n1", "/dev/vdb")
    assert diffs[("environment disk", "device")] == ("nvme0n1", "vdb")
    key = "rand-write-qd16@128k"
    assert diffs[(f"cell {key} job option", "filename")] == ("/dev/nvme0n1", "/dev/vdb")
    assert diffs[(f"cell {key} job option", "norandommap")] == (None, "1")
    assert diffs[(f"cell {key} job option", "iodepth_batch_submit")] == (None, "8")
    assert not any(name in ("import_sha256", "job_options", "randseed") for _, name in diffs)


def test_run_scratch_directories_are_not_a_difference() -> None:
    from analysis_runs import RunBuilder, result_for
    from builders import make_cell

    from iocompare.analysis.runs_compare import fact_differences

    cell = make_cell()

    def run(tag: str, target: str, iodepth: str) -> Any:
        scratch = f"{target}/iocompare-{tag}/host"
        b = RunBuilder({"host": ("host", {"target_path": scratch, "device": "vda"})})
        job = f"[global]\nfilename={scratch}/working-set-8g.dat ; the file\nrandseed=7\n[trial]\niodepth={iodepth}\n"
        b.add(cell, "host", result_for(cell, 1e9), facts={"fio_job": job})
        return b.build()

    same = fact_differences(run("0a1b2c3d", "/var/tmp", "32"), run("ffee0011", "/var/tmp", "32"))
    assert [d for d in same if "target" in d.name or d.name in ("filename", "iodepth")] == []
    other = {(d.scope, d.name): (d.a, d.b) for d in fact_differences(run("0a1b2c3d", "/var/tmp", "32"),
                                                                      run("ffee0011", "/mnt/nvme", "16"))}  # fmt: skip
    assert other[("environment host", "target_path")] == ("/var/tmp", "/mnt/nvme")
    assert other[(f"cell {cell.key} job option", "iodepth")] == ("32", "16")


def test_latency_floor_from_the_baselines_qd1_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reads at 5 us on a device whose QD1 4 KiB reads take 80 us came from memory."""
    db = str(tmp_path / "r.db")
    d = tmp_path / "files"
    d.mkdir()

    def files(name: str, target: str, clat: float, iodepth: str, n: int = 5, start: int = 0) -> list[str]:
        return [
            str(fio_file(d / f"{name}-{i}.json", bw_mib=200 + i, target=target, stamp=start + i, clat_ns=clat,
                         rw="randread", bs=4096, extra={"iodepth": iodepth}))
            for i in range(n)
        ]  # fmt: skip

    bare = files("qd1", "/dev/nvme0n1", 80_000.0, "1") + files("qd32", "/dev/nvme0n1", 300_000.0, "32", start=10)
    vm = files("vm-qd32", "/dev/vdb", 5_000.0, "32", start=20)
    assert cli(capsys, "import", *bare, "--env", "bare", "--run", "lat", "--db", db)[0] == 0
    assert cli(capsys, "import", *vm, "--env", "vmm", "--run", "lat", "--db", db)[0] == 0
    code, out, err = cli(capsys, "report", "lat", "--baseline", "bare", "--db", db, "--format", "json")
    assert code == 0, err
    cells = {(c["key"], c["environment"]): c for c in json.loads(out)["cells"]}
    floor = {c["id"]: c for c in cells[("rand-read-qd32@4k", "vmm")]["checks"]}["below-device-latency-floor"]
    assert floor["status"] == "fired"
    assert floor["evidence"]["host_qd1_clat_p50_ns"] == pytest.approx(80_000.0 * 1.5)
    honest = {c["id"]: c for c in cells[("rand-read-qd32@4k", "bare")]["checks"]}["below-device-latency-floor"]
    assert honest["status"] == "passed"
