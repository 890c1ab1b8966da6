"""Firecracker: every request body the backend would send validates against the real API
specification (Swagger 2.0, loaded from ../shared/contracts, or the copy in tests/fixtures), with
unknown fields refused so a typo cannot pass. Plus its command line, facts and cache layers."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import jsonschema
import pytest
import yaml

from iocompare.environments.microvm.environment import GuestConfig
from iocompare.environments.microvm.firecracker import (
    SCHEME,
    FirecrackerEnvironment,
    api_requests,
    firecracker_config,
    parse_version,
    with_network_interface,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC_NAME = "firecracker-api-1.17.0-dev.yaml"
SPEC_PATHS = (ROOT.parent / "shared" / "contracts" / SPEC_NAME, ROOT / "tests" / "fixtures" / "firecracker" / SPEC_NAME)


@pytest.fixture(scope="module")
def spec() -> dict:
    path = next(p for p in SPEC_PATHS if p.is_file())
    return yaml.safe_load(path.read_text())


def strict(schema):
    """The spec's schemas leave additionalProperties open; close them, so a misspelt field fails."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def body_schema(spec: dict, method: str, path: str) -> dict:
    """The schema of the body parameter of `method path`, matched against templated paths."""
    for template, operations in spec["paths"].items():
        pattern = template.replace("{", "").replace("}", "")
        parts, wanted = template.strip("/").split("/"), path.strip("/").split("/")
        if len(parts) != len(wanted) or not all(
            p.startswith("{") or p == w for p, w in zip(parts, wanted, strict=False)
        ):
            continue
        del pattern
        operation = operations[method.lower()]
        body = next(param for param in operation["parameters"] if param["in"] == "body")
        return body["schema"]
    raise AssertionError(f"{method} {path} is not in the API specification")


def validate(spec: dict, schema: dict, instance: dict) -> None:
    document = {**schema, "definitions": strict(spec["definitions"])}
    jsonschema.Draft4Validator(document).validate(instance)


def config_for(variant_text: str | None) -> dict:
    variant = SCHEME.parse(variant_text)
    return firecracker_config(
        kernel=Path("/cache/guest/abc/vmlinux"),
        initrd=Path("/cache/guest/abc/initramfs.cpio"),
        target=Path("/var/tmp/iocompare-x/firecracker/disk.img"),
        control=Path("/var/tmp/iocompare-x/firecracker/vm-1/control.img"),
        memory_mib=512,
        vcpus=2,
        cache=variant.get("cache"),
        io_engine=variant.get("io_engine"),
    )


ALL_VARIANTS = [name for name, _ in SCHEME.listing("Firecracker")]


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v or "default")
def test_every_request_body_validates_against_the_spec(spec, variant):
    requests = api_requests(config_for(variant))
    assert [path for _, path, _ in requests] == [
        "/machine-config",
        "/boot-source",
        "/drives/iocompare_target",
        "/drives/iocompare_control",
        "/actions",
    ]
    for method, path, body in requests:
        validate(spec, body_schema(spec, method, path), body)


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v or "default")
def test_config_file_is_a_full_vm_configuration(spec, variant):
    validate(spec, {"$ref": "#/definitions/FullVmConfiguration"}, config_for(variant))


def test_drive_options_map_to_the_api_enums():
    expected = {
        None: ("Unsafe", "Sync"),
        "io_engine=async": ("Unsafe", "Async"),
        "cache=writeback": ("Writeback", "Sync"),
        "fs,cache=writeback,io_engine=async": ("Writeback", "Async"),
    }
    for variant, (cache_type, io_engine) in expected.items():
        target, control = config_for(variant)["drives"]
        assert (target["cache_type"], target["io_engine"]) == (cache_type, io_engine)
        assert control["cache_type"] == "Writeback"  # the result must reach the file the host reads
        assert target["is_root_device"] is False and target["is_read_only"] is False


def test_strict_validation_catches_a_misspelt_field(spec):
    drive = dict(config_for(None)["drives"][0])
    drive["cache_typ"] = drive.pop("cache_type")
    with pytest.raises(jsonschema.ValidationError):
        validate(spec, body_schema(spec, "PUT", "/drives/iocompare_target"), drive)
    with pytest.raises(jsonschema.ValidationError):
        validate(spec, body_schema(spec, "PUT", "/drives/x"), {**drive, "cache_type": "None"})


def test_drive_ids_are_what_firecracker_accepts():
    for drive in config_for(None)["drives"]:
        assert drive["drive_id"].replace("_", "").isalnum()


def bare_environment(variant: str | None) -> FirecrackerEnvironment:
    """The parts of the environment that need no guest image or binary."""
    env = FirecrackerEnvironment.__new__(FirecrackerEnvironment)
    env.variant = SCHEME.parse(variant)
    env.binary = "firecracker-not-installed"
    env.config = GuestConfig(512, 2, 60)
    return env


@pytest.mark.parametrize(("variant", "flushes"), [(None, "no"), ("cache=writeback", "yes")])
def test_every_cell_says_host_page_cache_in_path(variant, flushes):
    env = bare_environment(variant)
    facts = env.vmm_facts()
    assert facts["host_page_cache_in_path"] == "yes" and facts["accelerator"] == "kvm"
    assert facts["flushes_reach_host"].startswith(flushes)
    for direct in (True, False):
        guest, host = env.cache_layers(direct)
        assert guest.name == "guest page cache" and guest.bypassed is direct and guest.ram_bytes == 512 << 20
        assert host.name == "host page cache" and host.bypassed is False
    assert env.guest_logical_block_size() == 512


def test_command_line_writes_the_config_file(tmp_path):
    import json
    from types import SimpleNamespace

    env = bare_environment("cache=writeback")
    env.context = SimpleNamespace(run_tag="abcd1234")
    env.disk = tmp_path / "disk.img"
    env.image = SimpleNamespace(vmlinux=tmp_path / "vmlinux", initramfs=tmp_path / "initramfs.cpio")
    argv = env.vmm_argv(tmp_path, tmp_path / "control.img")
    assert argv == [
        "firecracker-not-installed",
        "--id",
        f"iocompare-abcd1234-{tmp_path.name}",
        "--no-api",
        "--config-file",
        str(tmp_path / "vm-config.json"),
    ]
    written = json.loads((tmp_path / "vm-config.json").read_text())
    assert written["drives"][0]["path_on_host"] == str(tmp_path / "disk.img")
    assert written["boot-source"]["kernel_image_path"] == str(tmp_path / "vmlinux")


@pytest.mark.parametrize(
    ("text", "version"), [("Firecracker v1.8.0", (1, 8)), ("Firecracker v1.10.1\n", (1, 10)), ("nonsense", None)]
)
def test_version_parsing(text, version):
    assert parse_version(text) == version


def test_variants_do_not_collide():
    assert len(set(itertools.chain(ALL_VARIANTS))) == len(ALL_VARIANTS) == 8


def test_the_network_interface_of_a_network_run_validates_against_the_spec(spec):
    config = with_network_interface(config_for(None), tap="ioc-1a2b3c4d-t", guest_mac="02:00:c6:12:00:02")
    validate(spec, {"$ref": "#/definitions/FullVmConfiguration"}, config)
    requests = api_requests(config)
    assert [path for _, path, _ in requests][-2:] == ["/network-interfaces/eth0", "/actions"]
    for method, path, body in requests:
        validate(spec, body_schema(spec, method, path), body)
    with pytest.raises(jsonschema.ValidationError):  # host_dev_name is required, a misspelling is not it
        nic = {"iface_id": "eth0", "host_dev": "ioc-1a2b3c4d-t"}
        validate(spec, body_schema(spec, "PUT", "/network-interfaces/eth0"), nic)
