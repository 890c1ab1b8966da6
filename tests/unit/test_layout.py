"""The layout rule of docs/architecture.md, kept by a test: every import of src/iocompare goes to
the same or a lower floor, packages form no cycle, and inside environments/ the registry stands on
the two wings, the wings on the host, the host on the base."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "iocompare"

# Bottom to top. A module may import its own floor's modules only within its own package.
FLOORS: list[set[str]] = [
    {"errors", "units"},  # words and sizes
    {"model"},  # the vocabulary: cells, trials, fio results (no knowledge of the machine)
    {"facts", "monitor", "system"},  # the machine: what it is, its processes, signals, manifests
    {"engines", "spec", "store"},  # fio, suites, SQLite
    {"analysis", "environments"},  # statistics and checks; where fio runs
    {"report"},  # rendering stored runs
    {"execute"},  # running a plan: launch, runner, adaptive rounds
    {"doctor"},  # checking each environment with a 1 s run (iocompare doctor)
    {"cli", "__init__"},  # the commands
    {"__main__"},  # python -m iocompare
]
FLOOR_OF = {package: index for index, floor in enumerate(FLOORS) for package in floor}

# environments/: registry -> wings (container, microvm, remote) -> host, net -> blockdev, image, base -> shared, extents
# (net: the network paths' base, loopback and netns; the wings' network variants stand on it)
ENVIRONMENT_FLOORS: list[set[str]] = [
    {"shared", "extents"},
    {"base", "image", "blockdev"},
    {"host", "net"},
    {"container", "microvm", "remote"},
    {"registry"},
]
ENV_FLOOR_OF = {part: index for index, floor in enumerate(ENVIRONMENT_FLOORS) for part in floor}


def module_parts(path: Path) -> tuple[str, ...]:
    relative = path.relative_to(SRC).with_suffix("")
    parts = relative.parts
    return parts[:-1] if parts[-1] == "__init__" else parts


def imports(path: Path) -> list[tuple[str, ...]]:
    """Every iocompare module a file imports, TYPE_CHECKING and function-level imports included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "iocompare" or node.module.startswith("iocompare."):
                base = tuple(node.module.split(".")[1:])
                found.append(base)
                found.extend((*base, alias.name) for alias in node.names)  # `from pkg import module`
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("iocompare."):
                    found.append(tuple(alias.name.split(".")[1:]))
    return [parts for parts in found if parts]


def package_of(parts: tuple[str, ...]) -> str:
    return parts[0] if parts else "__init__"


def all_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_package_has_a_floor():
    packages = {package_of(module_parts(path)) for path in all_modules()}
    assert packages <= set(FLOOR_OF), f"give these a floor in FLOORS: {sorted(packages - set(FLOOR_OF))}"


def test_no_import_runs_up_a_floor():
    violations = []
    for path in all_modules():
        source = package_of(module_parts(path))
        for target_parts in imports(path):
            target = package_of(target_parts)
            if target not in FLOOR_OF or target == source:
                continue
            if FLOOR_OF[target] > FLOOR_OF[source] or (FLOOR_OF[target] == FLOOR_OF[source]):
                violations.append(f"{path.relative_to(SRC)} imports iocompare.{'.'.join(target_parts)}")
    assert violations == []


def test_packages_form_no_cycle():
    edges: dict[str, set[str]] = defaultdict(set)
    for path in all_modules():
        source = package_of(module_parts(path))
        for target_parts in imports(path):
            target = package_of(target_parts)
            if target != source and target in FLOOR_OF:
                edges[source].add(target)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*trail, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*trail, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            assert visit(start, []) is None


def test_environments_stand_registry_on_wings_on_host_on_base():
    violations = []
    for path in sorted((SRC / "environments").rglob("*.py")):
        parts = module_parts(path)[1:]
        if not parts:
            continue
        source = parts[0]
        for target_parts in imports(path):
            if target_parts[:1] != ("environments",) or len(target_parts) < 2:
                continue
            target = target_parts[1]
            if target == source or target not in ENV_FLOOR_OF:
                continue
            if ENV_FLOOR_OF[target] >= ENV_FLOOR_OF[source]:
                violations.append(f"environments/{'/'.join(parts)} imports environments.{target}")
    assert violations == []


def test_the_wings_are_folders_and_images_live_in_them():
    flat = [p.name for p in (SRC / "environments").glob("*.py") if p.name.startswith(("container_", "microvm_"))]
    assert flat == []
    assert not (SRC / "images").exists()
    assert (SRC / "environments" / "container" / "image.py").is_file()
    assert (SRC / "environments" / "microvm" / "image.py").is_file()


def test_the_guard_sees_a_violation(tmp_path):
    """The walker itself works: an upward import written into a module is found."""
    bad = tmp_path / "bad.py"
    bad.write_text("from iocompare.cli.main import app\nimport iocompare.report.html\n")
    assert ("cli", "main") in imports(bad) and ("report", "html") in imports(bad)
