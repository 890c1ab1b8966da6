"""Every fio output shape of the corpus (tests/fixtures/fio/shapes, fio 2.2.10 to 3.27, and the real
fio 3.33 outputs) imports, with the file's numbers: IOPS exact, bandwidth within fio's rounding,
latency present where the file has it, and where the percentiles came from recorded per trial.

Expected values are read from the JSON here, independently of the parser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from iocompare.cli.main import main
from iocompare.engines.fio_import import read_files
from iocompare.engines.fio_latency import PercentileSource, bucket_value
from iocompare.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
SHAPES = sorted((FIXTURES / "shapes").glob("*.json"))
REAL = [FIXTURES / n for n in ("randread_qd32_4k.json", "randread_qd32_4k_plain.json", "randrw_70_30.json",
                               "seqwrite_1m.json", "fsync_probe.json", "randread_two_jobs_no_group.json",
                               "client_server_two_clients.json", "client_server_fsync_probe.json")]  # fmt: skip
CORPUS = SHAPES + REAL


def load(path: Path) -> dict[str, Any]:
    text = path.read_text()
    document: dict[str, Any] = json.loads(text[text.index("{") if text.startswith("{") else text.index("\n{") + 1 :])
    return document


def entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("jobs") or [e for e in document["client_stats"] if e["jobname"] != "All clients"]
    return list(found)


def major(document: dict[str, Any]) -> int:
    match = re.match(r"fio-(\d+)", document["fio version"])
    assert match
    return int(match.group(1))


def blocks(side: dict[str, Any], kind: str) -> tuple[dict[str, Any] | None, int]:
    """The side's `kind` latency block and its scale to ns: `clat_ns` (ns) or fio 2.x `clat` (us)."""
    if f"{kind}_ns" in side:
        return side[f"{kind}_ns"], 1
    return side.get(kind), 1000


def has_values(block: dict[str, Any] | None) -> bool:
    return bool(block) and (block.get("N", 1) > 0) and (block.get("mean", 0) > 0 or block.get("max", 0) > 0)


def expected_source(document: dict[str, Any]) -> str:
    """Bins when any block with samples has them, else fio's percentiles when any has a non-zero one."""
    found = set()
    for entry in entries(document):
        for side in [entry["read"], entry["write"]] + ([entry["sync"]] if "sync" in entry else []):
            for kind in ("lat", "clat"):
                block, _ = blocks(side, kind)
                if has_values(block) and block is not None:
                    if "bins" in block:
                        found.add(PercentileSource.BINS)
                    elif any(v for v in block.get("percentile", {}).values()):
                        found.add(PercentileSource.FIO)
    for kind in (PercentileSource.BINS, PercentileSource.FIO):
        if kind in found:
            return kind.value
    return PercentileSource.NONE.value


def test_the_corpus_covers_the_versions_the_readme_cites() -> None:
    versions = {load(p)["fio version"] for p in CORPUS}
    assert versions == {"fio-2.2.10", "fio-2.19", "fio-3.1", "fio-3.13", "fio-3.16", "fio-3.27", "fio-3.33"}
    readme = (FIXTURES / "shapes" / "README.md").read_text()
    for path in SHAPES:
        assert f"`{path.name}`" in readme, f"{path.name} is not described in the README"


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_every_shape_imports_with_the_files_numbers(path: Path) -> None:
    plan = read_files([path])
    assert plan.errors == []
    assert len(plan.trials) == 1
    trial = plan.trials[0]
    document, found = load(path), entries(load(path))
    kib = major(document) < 3 and "io_kbytes" not in found[0]["read"]
    for ddir in ("read", "write"):
        sides = [e[ddir] for e in found]
        ios = sum(s.get("total_ios", 0) for s in sides)
        direction = getattr(trial.result, ddir)
        if ios == 0:
            assert direction is None or direction.io_bytes == 0
            continue
        assert direction is not None
        assert direction.iops == sum(s["iops"] for s in sides)  # exact
        assert direction.total_ios == ios
        assert direction.io_bytes == sum(s["io_bytes"] for s in sides) * (1024 if kib else 1)
        if all("bw_bytes" in s for s in sides):
            assert direction.bw_bps == sum(s["bw_bytes"] for s in sides)
        else:  # fio's bw is whole KiB/s, rounded down: within 1 KiB/s per entry
            assert 0 <= direction.bw_bps - sum(s["bw"] for s in sides) * 1024 < 1024 * len(sides)
        for kind, percentiles in (("lat", direction.lat), ("clat", direction.clat)):
            with_values = [(b, scale) for b, scale in (blocks(s, kind) for s in sides) if has_values(b)]
            if kind == "lat":
                assert (direction.lat_mean_ns is not None) == bool(with_values), path.name
            own = [(b, scale) for b, scale in with_values if any(b.get("percentile", {}).values())]
            if len(with_values) == 1 and own:
                block, scale = own[0]
                assert percentiles.p50_ns == block["percentile"]["50.000000"] * scale
                assert percentiles.p99_ns == block["percentile"]["99.000000"] * scale
            if not with_values:
                assert percentiles.p50_ns is None
    assert trial.facts["percentile_source"] == expected_source(document)


def test_fio_2_json_plus_bins_are_bucket_indices_turned_into_latencies() -> None:
    path = FIXTURES / "shapes" / "fio-2.19_randwrite_64k_jsonplus.json"
    clat = load(path)["jobs"][0]["write"]["clat"]
    assert clat["bins"]["FIO_IO_U_PLAT_BITS"] == 6
    result = read_files([path]).trials[0].result
    assert result.write is not None
    # fio's own percentile (us) is the value of the bucket the bins reach: the same after the conversion
    assert result.write.clat.p50_ns == clat["percentile"]["50.000000"] * 1000
    indices = sorted(int(k) for k in clat["bins"] if not k.startswith("FIO"))
    assert bucket_value(indices[0]) * 1000 <= result.write.clat.p50_ns <= bucket_value(indices[-1]) * 1000


def test_fdatasync_latency_without_n_is_read() -> None:
    path = FIXTURES / "shapes" / "fio-3.13_fdatasync_4k_json.json"
    sync = load(path)["jobs"][0]["sync"]
    assert "N" not in sync["lat_ns"]
    trial = read_files([path]).trials[0]
    assert trial.result.sync is not None and trial.result.sync.p50_ns == sync["lat_ns"]["percentile"]["50.000000"]
    assert trial.cell.pattern.value == "fsync-probe" and trial.facts["job_fdatasync"] == "1"


def test_lat_percentiles_sit_in_lat_ns() -> None:
    path = FIXTURES / "shapes" / "fio-3.16_randrw_50_4k_lat_percentiles_json.json"
    read = load(path)["jobs"][0]["read"]
    result = read_files([path]).trials[0].result
    assert result.read is not None
    assert result.read.lat.p50_ns == read["lat_ns"]["percentile"]["50.000000"] and result.read.clat.p50_ns is None


def test_the_whole_corpus_imports_as_one_run_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.db"
    code = main(["import", *map(str, CORPUS), "--env", "box", "--run", "corpus", "--db", str(db)])
    out = capsys.readouterr()
    assert code == 0, out.err
    with Store.open(db, create=False) as store:
        run = store.load_run(1)
    assert len(run.trials) == len(CORPUS)
    assert {t.facts["percentile_source"] for t in run.trials} == {s.value for s in PercentileSource} - {
        PercentileSource.NONE.value
    }
    _kind, facts = run.environments["box"]
    assert facts["fio_version"].startswith("fio-2.19, fio-2.2.10, fio-3.1")
    assert main(["report", "corpus", "--db", str(db), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["cells"]) == len(run.cells)


def test_a_mixed_only_output_is_refused_in_one_line(tmp_path: Path) -> None:
    """unified_rw_reporting (seen in fio 2.6 client output) sums reads and writes into `mixed`."""
    doc = load(FIXTURES / "shapes" / "fio-2.2.10_randread_4k_json.json")
    job = doc["jobs"][0]
    job["mixed"] = job.pop("read")
    del job["write"]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc))
    plan = read_files([path])
    assert plan.trials == []
    assert plan.errors == [
        f"{path}: jobs[0] ('rr') has only a 'mixed' total (unified_rw_reporting): reads and writes cannot be told apart"
    ]
