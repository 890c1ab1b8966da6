"""system/proc.run_many: several programs at once, one deadline, nothing outlives the call."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from iocompare.errors import ToolError
from iocompare.system.proc import run_many


def _barrier(directory: Path, index: int, count: int) -> list[str]:
    # Each child waits until all have started: run one after the other, the first would wait for ever.
    script = f'touch {directory}/{index}; while [ "$(ls {directory} | wc -l)" -lt {count} ]; do sleep 0.02; done'
    return ["sh", "-c", f"{script}; echo out-{index}; echo err-{index} >&2; exit {index}"]


def test_the_programs_run_at_the_same_time_and_each_answer_is_its_own(tmp_path: Path) -> None:
    done = run_many([_barrier(tmp_path, i, 3) for i in range(3)], timeout_s=30)
    assert [d.exit_code for d in done] == [0, 1, 2]
    assert [d.stdout.strip() for d in done] == ["out-0", "out-1", "out-2"]
    assert [d.stderr.strip() for d in done] == ["err-0", "err-1", "err-2"]


def test_the_deadline_is_a_tool_error_and_no_child_is_left(tmp_path: Path) -> None:
    marker = f"iocompare-run-many-{tmp_path.name}"
    with pytest.raises(ToolError, match="timed out"):
        run_many([["sh", "-c", f"sleep 30; : {marker}"], ["true"]], timeout_s=0.5)
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]


def test_a_missing_program_is_named_and_the_started_ones_are_stopped(tmp_path: Path) -> None:
    marker = f"iocompare-run-many-missing-{tmp_path.name}"
    with pytest.raises(ToolError, match="program not found: /nonexistent/fio"):
        run_many([["sh", "-c", f"sleep 30; : {marker}"], ["/nonexistent/fio"]], timeout_s=10)
    assert not [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
