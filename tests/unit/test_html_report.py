"""The HTML report: self-contained (no external reference of any kind), every user label escaped,
one chart per workload with unique ids, caveats up front; Markdown to a directory with PNG charts."""

from __future__ import annotations

import re

import pytest
from stored_runs import EVIL, EVIL_WORKLOAD, hostile_builder, store_run

from iocompare.cli.main import main
from iocompare.report import write
from iocompare.report.build import build_report
from iocompare.report.html import render_html


@pytest.fixture(scope="module")
def html() -> str:
    b = hostile_builder()
    run = b.build()
    return render_html(build_report(run, b.samples), b.samples)


def test_user_labels_are_escaped_everywhere(html):
    assert EVIL not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert EVIL_WORKLOAD not in html and "&lt;b&gt;" in html
    assert "$x$" in html.replace("&#34;", '"')  # mathtext is off: drawn as typed, not parsed


def test_nothing_is_fetched_from_anywhere(html):
    lowered = html.lower()
    for needle in (
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "@import",
        "src=",
        "url(http",
        "url(//",
        "<!doctype svg",
        "<?xml",
    ):
        assert needle not in lowered, needle
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert all(h.startswith("#") for h in hrefs), hrefs
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, (
        urls
    )  # XML namespace names, never fetched
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_one_chart_per_workload_with_unique_ids(html):
    assert html.count('<figure class="chart">') == 2  # the read workload and the seq-write workload (two block sizes)
    assert html.count('<figure class="chart-extra timeseries">') == 2  # the monitor samples, per workload
    assert html.count("<svg") == 4  # no raw fio output stored: no latency distribution
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r"url\(#([^)]+)\)", html):
        assert ref in ids


def test_caveats_io_paths_and_tables(html):
    caveats = html[html.index('id="caveats"') : html.index('id="summary"')]
    assert "software emulation (TCG)" in caveats and "flag software-emulation" in caveats
    paths = html[html.index('id="io-paths"') : html.index('id="workloads"')]
    assert "QEMU (tcg)" in paths and "cache=none aio=io_uring" in paths and "/dev/nvme0n1" in paths
    assert 'id="verdict-table"' in html and "ratio (95 % CI)" in html
    assert "host CPU µs/IO" in html and "CPU per IO" in html


def test_markdown_directory_has_report_and_pngs(tmp_path):
    b = hostile_builder()
    run = b.build()
    out = tmp_path / "md"
    path = write.write_markdown_dir(out, build_report(run, b.samples), b.samples)
    text = path.read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(images) == 4 and all((out / name).read_bytes().startswith(b"\x89PNG") for name in images)
    assert all(re.fullmatch(r"chart-\d\d-[A-Za-z0-9._-]+\.png", name) for name in images)
    assert [p.name for p in tmp_path.iterdir()] == ["md"]  # no temporary directory left


def test_markdown_directory_is_not_half_written_on_failure(tmp_path, monkeypatch):
    b = hostile_builder()
    report = build_report(b.build(), b.samples)

    made = []

    def second_chart_fails(_fig):
        made.append(1)
        if len(made) == 2:
            raise RuntimeError("disk full")
        return b"\x89PNG fine"

    monkeypatch.setattr(write, "to_png", second_chart_fails)
    with pytest.raises(RuntimeError):
        write.write_markdown_dir(tmp_path / "md", report, b.samples)
    assert list(tmp_path.iterdir()) == []


def test_cli_html_markdown_dir_and_md_file(tmp_path, capsys):
    db = tmp_path / "r.db"
    store_run(db, hostile_builder())
    assert main(["report", "evil-run", "--db", str(db), "--format", "html", "--output", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["report", "evil-run", "--db", str(db), "--format", "markdown", "--output", str(tmp_path / "dir")]) == 0
    assert (tmp_path / "dir" / "report.md").exists() and len(list((tmp_path / "dir").glob("*.png"))) == 4
    assert (
        main(["report", "evil-run", "--db", str(db), "--format", "markdown", "--output", str(tmp_path / "plain.md")])
        == 0
    )
    assert "## Charts" not in (tmp_path / "plain.md").read_text()
    capsys.readouterr()
    assert (
        main(
            [
                "report",
                "evil-run",
                "--db",
                str(db),
                "--format",
                "html",
                "--output",
                str(tmp_path / "missing" / "r.html"),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()


def test_failed_only_and_empty_runs_render_without_charts():
    from analysis_runs import RunBuilder
    from builders import make_cell

    from iocompare.model import TrialStatus

    b = RunBuilder()
    b.add(make_cell(), "host", None, status=TrialStatus.FAILED, reason="fio exit 1 <oops>")
    page = render_html(build_report(b.build(), b.samples), b.samples)
    assert "<svg" not in page and "fio exit 1 &lt;oops&gt;" in page
    empty = RunBuilder()
    assert "<svg" not in render_html(build_report(empty.build(), {}), {})
