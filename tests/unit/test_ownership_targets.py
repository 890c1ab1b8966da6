"""Ownership proofs for runs with several targets and for the loop devices of made targets."""

from __future__ import annotations

from pathlib import Path

from iocompare.system.ownership import (
    OwnedRoots,
    loop_is_ours,
    name_is_ours,
    tag_belongs,
    target_tag,
    write_marker,
)


def test_a_targets_tag_belongs_to_its_run_and_no_other() -> None:
    assert tag_belongs("ab12cd34", "ab12cd34")
    assert tag_belongs(target_tag("ab12cd34", 3), "ab12cd34")
    assert not tag_belongs("ab12cd34t", "ab12cd34")
    assert not tag_belongs("ab12cd34x0", "ab12cd34")
    assert not tag_belongs("ab12cd3", "ab12cd34")
    assert not tag_belongs(None, "ab12cd34")
    assert not tag_belongs("zzab12cd34t0", "ab12cd34")


def test_container_names_of_a_targets_tag_are_the_runs_own() -> None:
    assert name_is_ours("iocompare-ab12cd34t1-podman-4", "ab12cd34")
    assert name_is_ours("iocompare-ab12cd34-podman-4", "ab12cd34")
    assert not name_is_ours("iocompare-ab12cd34tx-podman-4", "ab12cd34")
    assert not name_is_ours("iocompare-ffffffff-podman-4", "ab12cd34")
    assert not name_is_ours("--all", "ab12cd34")


def test_paths_in_a_targets_marked_directory_are_ours_and_unmarked_ones_are_not(tmp_path: Path) -> None:
    roots = OwnedRoots.of([])
    marked = tmp_path / "iocompare-ab12cd34t0"
    write_marker(marked, "ab12cd34t0")
    (marked / "ws").write_bytes(b"x")
    assert roots.path_is_ours(str(marked / "ws"), "ab12cd34")
    unmarked = tmp_path / "iocompare-ab12cd34t1"
    unmarked.mkdir()
    assert not roots.path_is_ours(str(unmarked / "ws"), "ab12cd34")
    # a marker naming another tag proves nothing
    wrong = tmp_path / "iocompare-ab12cd34t2"
    write_marker(wrong, "ab12cd34")
    assert not roots.path_is_ours(str(wrong / "ws"), "ab12cd34")


def test_a_loop_device_is_ours_only_by_a_well_formed_name_over_our_file() -> None:
    roots = OwnedRoots.of([])
    assert not loop_is_ours("/dev/sda", "ab12cd34", roots)
    assert not loop_is_ours("/dev/loop0; rm -rf /", "ab12cd34", roots)
    assert not loop_is_ours("/dev/loop99999", "ab12cd34", roots)
    # a device that is not attached (or whose backing file is not in a marked run directory)
    assert not loop_is_ours("/dev/loop4095", "ab12cd34", roots)
