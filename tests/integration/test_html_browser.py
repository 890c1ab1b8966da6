"""The HTML report of a real run (tiny suite, real fio, host against host:twin) in headless Chromium:
charts and the verdict table are there, the page makes no network request, and an environment named
`<script>alert(1)</script>` is shown as text (no script element, no dialog). A suspect result is
drawn hollow with its flag, the throughput-over-trial and latency-distribution charts are drawn from
the stored samples and fio histograms, and at 800 px the page does not scroll sideways
(IOCOMPARE_SCREENSHOTS=DIR keeps the screenshots for a person to look at).

The hostile name is given to the real run's results in two ways: copied through the Store API under
the new name, and imported from the real raw fio outputs with `iocompare import --env`."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from iocompare.cli.main import main
from iocompare.model import FioRun
from iocompare.store import RunStatus, Store

pytestmark = pytest.mark.integration

EVIL = "<script>alert(1)</script>"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def copy_renamed(
    db: Path, source: str, rename: dict[str, str], name: str, facts: dict[str, dict[str, str]] | None = None
) -> None:
    """The stored run `source` again, as run `name`, with environments renamed: real results, samples
    and raw fio outputs. `facts`: extra environment facts by new name (to make a check fire)."""
    with Store.open(db) as store:
        run_id = store.resolve_run(source)
        run, samples = store.load_run(run_id), store.run_samples(run_id)
        new = store.create_run(
            name=name, suite_name=run.info.suite_name, suite_json=run.suite_json, settings=run.settings,
            host_facts=run.host_facts,
            environments=[(rename.get(env, env), kind, {**f, **(facts or {}).get(rename.get(env, env), {})})
                          for env, (kind, f) in run.environments.items()],
            cells=run.cells,
        )  # fmt: skip
        for st in run.trials:
            trial = st.trial.__class__(
                st.trial.index,
                st.trial.round,
                st.trial.cell,
                rename.get(st.trial.environment, st.trial.environment),
                st.trial.seed,
            )
            text = store.raw_output(st.id)
            raw = FioRun((), 0, text, "", 0.0) if text else None
            store.record_trial(new, trial, status=st.status, reason=st.reason, started_at=st.started_at,
                               ended_at=st.ended_at, result=st.result, raw=raw, facts=st.facts,
                               samples=samples.get(st.id, ()))  # fmt: skip
        store.finish_run(new, RunStatus.COMPLETE)


def open_in_chromium(path: Path, shots: Path | None = None) -> dict:
    playwright = pytest.importorskip("playwright.sync_api", reason="the test extra installs playwright")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    requests, dialogs = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_timeout(300)  # anything late (a lazy image, a font) would show up here
            found = {
                "svgs": page.locator("figure.chart > svg").count(),
                "svg_visible": page.locator("figure.chart > svg").first.is_visible(),
                "verdict_rows": page.locator("#verdict-table tbody tr").count(),
                "verdict_visible": page.locator("#verdict-table").is_visible(),
                "scripts": page.locator("script").count(),
                "evil_visible": page.get_by_text(EVIL, exact=True).first.is_visible(),
                "evil_cells": page.locator("td", has_text=EVIL).count(),
                "title": page.title(),
                "suspect_points": page.locator('figure.chart svg [id*="suspect"]').count(),
                "suspect_flag_text": page.locator("figure.chart svg text", has_text="memory-filesystem").count(),
                "suspect_rows": page.locator("tr.suspect .suspect-mark").count(),
                "timeseries": page.locator("figure.timeseries > svg").count(),
                "timeseries_visible": page.locator("figure.timeseries > svg").first.is_visible(),
                "latency": page.locator("figure.latency-dist > svg").count(),
                "latency_visible": page.locator("figure.latency-dist > svg").first.is_visible(),
            }
            page.set_viewport_size({"width": 800, "height": 900})
            page.wait_for_timeout(100)
            found["width_800"] = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if shots is not None:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / "report-800px.png"), full_page=True)
                for kind in ("chart", "timeseries", "latency-dist"):
                    page.locator(f"figure.{kind}").first.screenshot(path=str(shots / f"{kind}.png"))
        finally:
            browser.close()
    found["requests"] = [u for u in requests if u != path.as_uri()]
    found["dialogs"] = dialogs
    return found


def test_html_report_of_a_real_run_in_chromium(tmp_path, capsys, tiny_suite, isolated_db):
    target = tmp_path / "target"
    target.mkdir()
    suite = tiny_suite(repeat=2, environments=("host", "host:twin"))
    code, _, err = run_cli(capsys, "run", "--suite", str(suite), "--target", str(target), "--name", "real")
    assert code == 0, err
    # The twin is relabelled as memory-backed, so a real artifact check (memory-filesystem) fires on it.
    copy_renamed(isolated_db, "real", {"host:twin": EVIL}, "renamed", facts={EVIL: {"memory_backed": "yes"}})

    report = tmp_path / "report.html"
    code, _, err = run_cli(capsys, "report", "renamed", "--format", "html", "--output", str(report))
    assert code == 0, err
    shutil.copy(report, tmp_path / "copy.html")  # a file:// page from anywhere; nothing beside it is needed
    shots = os.environ.get("IOCOMPARE_SCREENSHOTS")
    found = open_in_chromium(tmp_path / "copy.html", Path(shots) if shots else tmp_path / "shots")
    assert found["requests"] == [], found["requests"]
    # The suspect twin: hollow points with the flag's id beside them, and marked rows.
    assert found["suspect_points"] >= 2 and found["suspect_flag_text"] >= 2, found
    assert found["suspect_rows"] == 2
    # The two charts drawn from stored data: throughput over the trial and the latency distribution.
    assert found["timeseries"] == 2 and found["timeseries_visible"]
    assert found["latency"] == 2 and found["latency_visible"]
    scroll_width, client_width = found["width_800"]
    assert client_width <= 800 and scroll_width <= client_width, found["width_800"]
    assert found["dialogs"] == [] and found["scripts"] == 0
    assert found["svgs"] == 2 and found["svg_visible"]  # one chart per workload: rand-read and seq-write
    assert found["verdict_visible"] and found["verdict_rows"] == 2  # each cell of the twin against the host
    assert found["evil_visible"] and found["evil_cells"] >= 2
    assert found["title"] == "iocompare run 2: renamed"

    # The same label through `iocompare import`, from the real run's raw fio output files.
    raw_dir = tmp_path / "raw"
    raw_dir.mkdir()
    with Store.open(isolated_db) as store:
        run = store.load_run(store.resolve_run("real"))
        for st in run.trials:
            if st.trial.environment == "host:twin":
                (raw_dir / f"trial-{st.id}.json").write_text(store.raw_output(st.id) or "")
    code, out, err = run_cli(capsys, "import", *sorted(map(str, raw_dir.iterdir())), "--env", EVIL, "--run", "imported")
    assert code == 0, err
    assert "4 trial(s)" in out and "2 cell(s)" in out
    code, _, err = run_cli(
        capsys, "report", "imported", "--format", "html", "--output", str(tmp_path / "imported.html")
    )
    assert code == 0, err
    found = open_in_chromium(tmp_path / "imported.html")
    assert found["requests"] == [] and found["dialogs"] == [] and found["scripts"] == 0
    assert found["svgs"] == 2 and found["evil_visible"]
