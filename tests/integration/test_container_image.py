"""`iocompare image build|list|rm` with both engines: offline, cached by content hash."""

from __future__ import annotations

import subprocess

import pytest

from iocompare.cli.main import main
from iocompare.environments.container import image as container_image

pytestmark = pytest.mark.integration


def image_ids(engine: str) -> list[str]:
    done = subprocess.run(
        [engine, "images", "-q", "--no-trunc"], capture_output=True, text=True, timeout=60, check=True
    )
    return sorted(set(done.stdout.split()))


@pytest.mark.parametrize("kind", ["podman", "docker"])
def test_build_is_cached_list_shows_it_and_a_warm_build_imports_nothing(
    kind, capsys, docker_daemon, fresh_engines, monkeypatch
):
    assert main(["image", "build", "--kind", kind]) == 0
    first = capsys.readouterr().out.strip()
    assert first.startswith(f"{kind}: iocompare-fio:")
    before = image_ids(kind)

    imports = []
    real_call = container_image.Engine.call

    def watching(self, *args, **kwargs):
        if args and args[0] == "import":
            imports.append(args)
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(container_image.Engine, "call", watching)
    assert main(["image", "build", "--kind", kind]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == first  # same tag, same content hash
    assert "up to date" in captured.err
    assert imports == [] and image_ids(kind) == before

    assert main(["image", "list", "--kind", kind]) == 0
    listing = capsys.readouterr().out
    tag = first.split()[1]
    assert tag in listing and "fio_version=fio-" in listing


def test_rm_and_rebuild_with_podman(capsys, fresh_engines):
    assert main(["image", "build", "--kind", "podman"]) == 0
    tag = capsys.readouterr().out.split()[1]
    assert main(["image", "rm", tag, "--kind", "podman"]) == 0
    assert f"removed podman {tag}" in capsys.readouterr().out
    assert main(["image", "list", "--kind", "podman"]) == 0
    assert tag not in capsys.readouterr().out
    assert main(["image", "build", "--kind", "podman", "--force"]) == 0
    assert capsys.readouterr().out.split()[1] == tag  # the same content gives the same tag
