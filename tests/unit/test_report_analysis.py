"""Reports (terminal, Markdown, JSON) show verdicts with CIs, the artifact checks that fired,
stability warnings, headlines and the analysis across block sizes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from analysis_runs import DISK_FACTS, MiB, RunBuilder, seq_write_cell
from builders import make_cell
from rich.console import Console

from iocompare.analysis.artifacts import NETWORK_CHECKS, CheckId
from iocompare.analysis.compare import Policy
from iocompare.errors import UserError
from iocompare.report.build import build_report
from iocompare.report.compare_render import compare_dict
from iocompare.report.compare_view import build_compare
from iocompare.report.json_report import SCHEMA_VERSION, report_dict
from iocompare.report.markdown import render_markdown
from iocompare.report.terminal import render_terminal

FAST = Policy(n_boot=500)
TIGHT = [1000.0, 1002.0, 998.0, 1001.0, 999.0, 1000.5]  # CV 0.15 %
TMPFS = {"fs_type": "tmpfs", "memory_backed": "yes"}
READ = make_cell(workload="rand-read")  # 4 KiB random read QD32
WRITE = seq_write_cell()


def scaled(factor: float, values=TIGHT) -> list[float]:
    return [v * MiB * factor for v in values]


def three_env_run():
    """host (baseline); ctr: 8 % faster on reads (below the 1.1x faster-than-host check), the same
    on writes; ram: on tmpfs, as fast as ctr, so it would be "faster" if it were not suspect."""
    b = RunBuilder(
        {"host": ("host", dict(DISK_FACTS)), "ctr": ("container", dict(DISK_FACTS)), "ram": ("container", dict(TMPFS))}
    )
    for env, read_factor in (("host", 1.0), ("ctr", 1.08), ("ram", 1.08)):
        b.add_values(READ, env, scaled(read_factor), clat_p50_ns=150_000.0)
        b.add_values(WRITE, env, scaled(1.0))
    return b


def render(report, width: int = 300) -> str:
    """Wide by default, so that a checked phrase is not wrapped inside a table cell."""
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=width, highlight=False), verbose=True)
    return buffer.getvalue()


def verdict_lines(text: str, env: str) -> list[str]:
    """Rows of the verdict table (terminal or Markdown) for one candidate environment."""
    section = text.split("erdicts against host", 1)[1].split("rtifact checks", 1)[0]
    return [line for line in section.splitlines() if f" {env} " in line]


@pytest.fixture(scope="module")
def report():
    b = three_env_run()
    return build_report(b.build(), b.samples, policy=FAST)


def test_terminal_shows_verdicts_with_cis_and_p_values(report):
    out = render(report)
    assert "comparisons against host" in out and "1 faster" in out
    (faster,) = [line for line in verdict_lines(out, "ctr") if "rand-read@4k" in line]
    assert "8 % faster (CI " in faster and "1.080 (1.0" in faster
    assert "/" in faster.split("│")[6]  # p / adjusted p
    (same,) = [line for line in verdict_lines(out, "ctr") if "seq-write@1m" in line]
    assert "no significant difference (CI " in same
    assert "4 KiB random read: host" in out  # the headline (--verbose; the answer lines lead)


def test_a_suspect_environment_says_suspect_and_never_faster(report):
    for text in (render(report), render_markdown(report)):
        ram = verdict_lines(text, "ram")
        assert ram and all("suspect: memory filesystem (tmpfs)" in line for line in ram)
        assert not any("faster" in line for line in ram)
        assert "memory-filesystem" in text and "these numbers measure RAM, not a disk" in text
        assert "fs_type=tmpfs" in text  # the evidence


def test_terminal_fits_160_columns(report):
    out = render(report, width=160)
    assert max(len(line) for line in out.splitlines()) <= 160
    assert "8 % faster" in out and "suspect: memory" in out


def test_markdown_has_every_section(report):
    md = render_markdown(report)
    for heading in ("## Verdicts against host", "## Artifact checks that fired", "## Results", "## Suite summary"):
        assert heading in md
    assert md.index("**4 comparisons") < md.index("## Results")  # summary first
    (row,) = [line for line in verdict_lines(md, "ctr") if "rand-read@4k" in line]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4].startswith("1.080 (") and cells[6].startswith("8 % faster (CI ")
    ram_row = next(line for line in md.splitlines() if line.startswith("| rand-read@4k QD32 | ram |"))
    assert "flag: memory-filesystem" in ram_row


def test_json_carries_the_analysis(report):
    d = json.loads(json.dumps(report_dict(report), default=str))
    assert d["schema_version"] == SCHEMA_VERSION == 1
    a = d["analysis"]
    assert a["baseline"] == "host" and a["metric"] == "throughput" and a["policy"]["noise_threshold"] == 0.05
    got = {(c["key"], c["candidate"]): c for c in a["comparisons"]}
    faster = got[(READ.key, "ctr")]
    assert faster["verdict"] == "faster" and faster["text"].startswith("8 % faster (CI ")
    assert faster["ci_low"] < faster["ratio"] < faster["ci_high"] and faster["p_adjusted"] >= faster["p_value"]
    assert faster["baseline_summary"]["n"] == 6 and faster["candidate_summary"]["geomean"] > 0
    assert got[(READ.key, "ram")]["verdict"] == "suspect"
    assert got[(WRITE.key, "ctr")]["verdict"] == "no significant difference"
    assert a["verdict_counts"] == {"faster": 1, "no significant difference": 1, "suspect": 2}
    assert a["headlines"] and a["suite_summaries"][0]["candidate"] == "ctr"
    ram = next(c for c in d["cells"] if c["environment"] == "ram" and c["key"] == READ.key)
    assert ram["flags"] == ["memory-filesystem"]
    check = next(c for c in ram["checks"] if c["id"] == "memory-filesystem")
    assert check["status"] == "fired" and check["evidence"] == {"fs_type": "tmpfs"} and check["explanation"]
    assert len(ram["checks"]) == len(CheckId) - len(NETWORK_CHECKS) and ram["warnings"] == []


def test_stability_warnings_in_every_format():
    b = RunBuilder({"host": ("host", dict(DISK_FACTS)), "ctr": ("container", dict(DISK_FACTS))})
    b.add_values(READ, "host", scaled(1.0))
    b.add_values(READ, "ctr", scaled(1.0, [1150.0, 1000.0, 1001.0, 999.0, 1000.5]))  # first trial +15 %
    b.add_values(WRITE, "host", scaled(1.0, [1000.0, 1010.0, 990.0]))  # 3 trials
    b.add_values(WRITE, "ctr", scaled(1.0, [700.0, 1300.0, 1000.0, 900.0, 1200.0]))  # CV 23 %
    report = build_report(b.build(), b.samples, policy=FAST)
    out, md = render(report), render_markdown(report)
    d = report_dict(report)
    codes = {(c["key"], c["environment"]): {w["code"] for w in c["warnings"]} for c in d["cells"]}
    assert codes[(READ.key, "ctr")] == {"first-trial-outlier"}
    assert codes[(WRITE.key, "host")] == {"too-few-trials"}
    assert codes[(WRITE.key, "ctr")] == {"high-cv"}
    for text in (out, md):
        assert "first trial +15 % off the median of the other 4" in text
        assert "3 trials, fewer than 5" in text
        assert "CV 23% above 10%" in text
    md_row = next(line for line in md.splitlines() if line.startswith("| seq-write@1m QD16 | host |"))
    assert "3 trials, fewer than 5" in md_row  # next to the numbers, in the same row


def test_cross_block_analysis_and_suite_summary():
    b = RunBuilder({"host": ("host", dict(DISK_FACTS)), "vm": ("qemu", {**DISK_FACTS, "accelerator": "kvm"})})
    for block, factor in ((4096, 0.7), (65536, 0.95), (1 << 20, 1.08)):
        cell = make_cell(workload="rand-read", block_size_bytes=block)
        b.add_values(cell, "host", scaled(1.0), clat_p50_ns=150_000.0)
        b.add_values(cell, "vm", scaled(factor), clat_p50_ns=150_000.0)
    report = build_report(b.build(), b.samples, policy=FAST)
    out, md = render(report), render_markdown(report)
    for text in (out, md):
        assert "rand-read, vm: overtakes near" in text and "between 64 KiB and 1 MiB" in text
        assert "vm against host: geometric mean of 3 cell ratios" in text
    d = report_dict(report)["analysis"]
    (curves,) = d["cross_block"]
    assert curves["baseline"] == "host" and [p["block_size_bytes"] for p in curves["ratios"]["vm"]] == [
        4096,
        65536,
        1 << 20,
    ]
    assert curves["crossings"]["vm"][0]["direction"] == "up" and curves["curves"]["vm"][0]["iops"] > 0
    (suite,) = d["suite_summaries"]
    assert suite["n_cells"] == 3 and suite["ci_low"] < suite["ratio"] < suite["ci_high"]


def test_baseline_can_be_chosen_and_must_exist():
    b = three_env_run()
    report = build_report(b.build(), b.samples, baseline="ctr", policy=FAST)
    assert report.analysis.baseline == "ctr"
    assert {c.candidate for c in report.analysis.comparisons} == {"host", "ram"}
    assert "verdicts against ctr" in render(report)
    with pytest.raises(UserError, match="--baseline 'nope'"):
        build_report(b.build(), b.samples, baseline="nope")


def test_single_environment_shows_flags_and_warnings_but_no_verdicts():
    b = RunBuilder({"host": ("host", dict(TMPFS))})
    b.add_values(READ, "host", scaled(1.0, [1000.0, 1010.0, 990.0]))
    report = build_report(b.build(), b.samples, policy=FAST)
    out, md, d = render(report), render_markdown(report), report_dict(report)
    assert d["analysis"]["baseline"] is None and d["analysis"]["comparisons"] == []
    assert d["cells"][0]["flags"] == ["memory-filesystem"]
    for text in (out, md):
        assert "no verdicts" in text and "Verdicts" not in text and "verdicts against" not in text
        assert "memory-filesystem" in text and "3 trials, fewer than 5" in text
        assert "% faster" not in text


# Objects whose keys are data (environment names, verdicts, fact names), not field names.
_DYNAMIC = {
    "curves",
    "ratios",
    "crossings",
    "verdict_counts",
    "evidence",
    "facts",
    "host",
    "settings",
    "statuses",
    "labels",
    "monitor",
    "cpu",
}


def _field_names(obj, parent=None) -> set[str]:
    names: set[str] = set()
    if isinstance(obj, dict):
        for key, value in obj.items():
            if parent not in _DYNAMIC:
                names.add(key)
            names |= _field_names(value, key)
    elif isinstance(obj, list):
        for item in obj:
            names |= _field_names(item, parent)
    return names


def test_every_json_field_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "report-json.md").read_text()
    b = three_env_run()
    few = make_cell(workload="few")
    b.add_values(few, "host", scaled(1.0, [1000.0, 1200.0])).add_values(few, "ctr", scaled(1.0, [1000.0, 1010.0]))
    run = b.build()
    compared = compare_dict(build_compare(run, run, b.samples, b.samples, policy=FAST))
    fields = _field_names(report_dict(build_report(run, b.samples, policy=FAST))) | _field_names(compared)
    assert {"message", "mean_ci", "crossings", "excluded"} <= fields  # the walk sees nested objects
    missing = sorted(f for f in fields if f"`{f}`" not in doc)
    assert not missing, missing
