"""Targets as a dimension (issue 15): target specs, env@target labels, which baseline each label
is compared against, and the bad-input boundary of --target."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iocompare.cli.main import main
from iocompare.errors import UserError
from iocompare.spec.expand import expand
from iocompare.spec.load import validate_suite
from iocompare.spec.targets import (
    TargetKind,
    baseline_for,
    environment_labels,
    parse_target,
    parse_targets,
    split_label,
)


def test_specs_parse_into_what_the_run_makes():
    loop = parse_target("loop:xfs:1g")
    assert loop.kind is TargetKind.LOOP and loop.filesystem == "xfs" and loop.size_bytes == 1 << 30
    made = parse_target("mkfs:btrfs:/dev/sdz1:-m single")
    assert made.kind is TargetKind.MKFS and made.device == "/dev/sdz1" and made.mkfs_options == ("-m", "single")
    assert parse_target("/mnt/loop:odd").kind is TargetKind.PATH  # an absolute path is a path
    assert parse_target("relative/dir").kind is TargetKind.PATH


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("loop:zfs:1g", "filesystem 'zfs'"),
        ("loop:ext4:lots", "not a size"),
        ("loop:ext4:1m", "at least 300 MiB"),
        ("mkfs:xfs:sdb", "under /dev"),
    ],
)
def test_bad_specs_name_the_value(text, word):
    with pytest.raises(UserError) as caught:
        parse_target(text)
    assert word in caught.value.one_line() and text in caught.value.one_line()


def test_a_target_twice_is_refused():
    with pytest.raises(UserError, match="twice"):
        parse_targets(["/a", "/a"])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_spec_or_one_user_error(text):
    try:
        spec = parse_target(text)
    except UserError as exc:
        assert "\n" not in exc.one_line().strip() or "\n" in text
    else:
        assert spec.text == text


def test_one_target_keeps_plain_names_several_label_every_pair():
    assert environment_labels(["host", "podman"], ["/a"]) == ("host", "podman")
    assert environment_labels(["host", "podman"], ["/a", "/b"]) == ("host@/a", "podman@/a", "host@/b", "podman@/b")
    assert split_label("podman:volume@/mnt/x") == ("podman:volume", "/mnt/x")
    assert split_label("host") == ("host", None)


def test_baselines_per_target_and_across_targets():
    labels = ["host@/a", "podman@/a", "host@/b", "podman@/b"]
    assert baseline_for("podman@/b", "host@/a", labels, None) == "host@/b"
    assert baseline_for("podman@/b", "host@/a", labels, "/a") == "podman@/a"
    assert baseline_for("host@/b", "host@/a", labels, "/a") == "host@/a"
    assert baseline_for("podman", "host", ["host", "podman"], None) == "host"


def test_suite_targets_expand_into_labelled_trials():
    suite = validate_suite(
        {
            "name": "t",
            "workloads": [{"name": "r", "pattern": "rand-read"}],
            "environments": ["host", "podman"],
            "targets": ["/a", "loop:ext4:1g"],
            "repeat": 1,
            "max_repeat": 1,
        },
        "test",
    )
    plan = expand(suite, run_seed=1)
    assert set(plan.environments) == {"host@/a", "podman@/a", "host@loop:ext4:1g", "podman@loop:ext4:1g"}
    assert {t.environment for t in plan.trials} == set(plan.environments)


def test_target_and_targets_together_are_refused():
    with pytest.raises(UserError, match="not both"):
        validate_suite({"name": "t", "workloads": [{"name": "r", "pattern": "rand-read"}], "target": "/a",
                        "targets": ["/b"]}, "test")  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["--target", "loop:zfs:1g"], "zfs"),
        (["--target", "/tmp", "--target", "/tmp"], "duplicates"),
        (["--target", "/tmp", "--baseline-target", "/nowhere"], "--baseline-target"),
        (["--target", "/tmp", "--target", "/tmp/a@b"], "--target"),
    ],
)
def test_cli_bad_targets_are_one_line_exit_2(tmp_path, capsys, monkeypatch, argv, word):
    monkeypatch.setenv("IOCOMPARE_DB", str(tmp_path / "db" / "r.db"))
    code = main(["run", "--dry-run", *argv])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and word in err, err
    assert not (tmp_path / "db").exists()


def _suite(**extra):
    return validate_suite(
        {"name": "t", "workloads": [{"name": "r", "pattern": "rand-read"}], "repeat": 1, "max_repeat": 1, **extra},
        "test",
    )


def test_ioengines_are_a_dimension_with_the_engine_in_the_cell():
    from iocompare.engines.fio_options import identity_of

    plan = expand(_suite(ioengines=["libaio", "io_uring"], block_sizes=["4k", "64k"]), run_seed=1)
    keys = {c.key: c.ioengine for c in plan.cells}
    assert keys == {"r+libaio@4k": "libaio", "r+libaio@64k": "libaio", "r+io_uring@4k": "io_uring",
                    "r+io_uring@64k": "io_uring"}  # fmt: skip
    by_engine = {c.ioengine: c for c in plan.cells if c.block_size_bytes == 4096}
    assert identity_of(by_engine["libaio"], {}) != identity_of(by_engine["io_uring"], {})
    assert [c.key for c in expand(_suite(ioengines=["io_uring"]), run_seed=1).cells] == ["r@4k"]  # one: as before


@pytest.mark.parametrize(
    ("extra", "word"),
    [({"ioengine": "libaio", "ioengines": ["io_uring"]}, "not both"), ({"ioengines": ["libaio", "libaio"]}, "dup")],
)
def test_bad_ioengines(extra, word):
    with pytest.raises(UserError, match=word):
        _suite(**extra)


def test_fio_client_pieces():
    from iocompare.engines.fio_client import Server, client_argv, greeting_version, parse_server, per_host_documents

    assert parse_server("198.19.1.2") == Server("198.19.1.2", 8765)
    assert parse_server("node-b:9000").client_option == "--client=ip:node-b,9000"
    argv = client_argv("fio", [Server("a"), Server("b", 1)], output="o.json", job="j.fio")
    assert argv == ["fio", "--output-format=json+", "--output=o.json", "--client=ip:a,8765", "j.fio",
                    "--client=ip:b,1", "j.fio"]  # fmt: skip
    greeting = "hostname=node-b, be=0, 64-bit, os=Linux, arch=x86-64, fio=fio-3.33, flags=1\n<node-b> probe: ..."
    assert greeting_version(greeting) == "fio-3.33" and greeting_version("fio: connect: refused") is None
    doc = {"fio version": "fio-3.33", "client_stats": [
        {"jobname": "j", "hostname": "a", "port": 1}, {"jobname": "j", "hostname": "b", "port": 1},
        {"jobname": "All clients", "hostname": "", "port": 0}]}  # fmt: skip
    parts = per_host_documents(doc)
    assert set(parts) == {"a:1", "b:1"} and [e["hostname"] for e in parts["b:1"]["client_stats"]] == ["b"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_remote_spellings_are_a_server_or_one_user_error(text):
    from iocompare.engines.fio_client import parse_server

    try:
        server = parse_server(text)
    except UserError as exc:
        assert "remote" in exc.one_line()
    else:
        assert 1 <= server.port <= 65535 and ":" not in server.host and "," not in server.host


def test_version_mismatch_refuses_with_both_versions(monkeypatch):
    from iocompare.engines.fio_client import Server
    from iocompare.environments import remote

    monkeypatch.setattr(remote, "probe_all", lambda fio, servers: {s.address: ("fio-3.36", None) for s in servers})
    reason = remote.check_servers("fio", "fio-3.33", [Server("198.19.1.2")])
    assert reason is not None and "fio-3.36" in reason and "fio-3.33" in reason


def test_all_at_once_needs_remote_hosts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IOCOMPARE_DB", str(tmp_path / "db" / "r.db"))
    code = main(["run", "--dry-run", "--env", "host", "--all-at-once"])
    err = capsys.readouterr().err
    assert code == 2 and "--all-at-once needs remote hosts" in err
