"""The doctor's checks, one function per environment kind: the steps a run would go through
(engine reachable, image built, instance started, KVM or TCG), then the 1 s fio where every step
before it passed. Each failed step says what to do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from iocompare.doctor.firecracker import firecracker_steps
from iocompare.doctor.smoke import smoke_run
from iocompare.doctor.steps import EnvironmentReport, Step
from iocompare.engines.fio_binary import FioBinary, find_fio
from iocompare.environments import registry
from iocompare.environments.host import check_target
from iocompare.errors import IocompareError
from iocompare.model import TrialStatus

DEFAULT_ENVIRONMENTS = ("host", "podman", "docker", "qemu", "firecracker")
Progress = Callable[[str], None]


def _fio_step(fio_path: str | None) -> tuple[Step, FioBinary | None]:
    try:
        fio = find_fio(fio_path)
    except IocompareError as exc:
        return Step.fail("fio", exc.one_line(), "apt-get install fio (or --fio PATH)"), None
    return Step.ok("fio", f"{fio.path}: {fio.version}"), fio


def _target_step(target: Path) -> Step:
    try:
        check_target(target)
    except IocompareError as exc:
        return Step.fail("target", exc.one_line(), "pass --target DIR on the filesystem to test")
    return Step.ok("target", f"{target} is a writable directory")


def _image_step(kind: str) -> Step:
    """Build (or find cached) the image the environment runs; the builder says why it cannot."""
    image_kind = "guest" if kind in ("qemu", "firecracker") else kind
    builder = registry.image_builder(image_kind)
    reason = builder.unavailable_reason()
    if reason is not None:
        return Step.fail("image", reason, f"iocompare image build --kind {image_kind} says more")
    try:
        info = builder.build()
    except IocompareError as exc:
        return Step.fail("image", exc.one_line(), f"iocompare image build --kind {image_kind} --force")
    return Step.ok("image", f"{info.name} ({info.content_hash[:12]})")


def _available_step(environment: str) -> Step:
    reason = registry.choose(environment).unavailable_reason
    if reason is None:
        return Step.ok("available", "every requirement iocompare checks before a run is met")
    return Step.fail("available", reason, "the reason names the fix")


def _smoke_step(environment: str, target: Path, fio: FioBinary) -> list[Step]:
    try:
        smoke = smoke_run(environment, target=target, fio=fio)
    except IocompareError as exc:
        return [Step.fail("1 s fio", exc.one_line(), "the message names the step that failed")]
    steps = []
    accelerator = smoke.facts.get("accelerator")
    if accelerator is not None:
        why = smoke.facts.get("accelerator_reason", "")
        detail = f"{accelerator}" + (f" ({why})" if why else "")
        if accelerator == "tcg":
            steps.append(
                Step.fail(
                    "kvm or tcg",
                    f"software emulation: {detail}; results are flagged as not representative of a KVM host",
                    "a host with working KVM (bare metal, or nested virtualisation that runs a stock guest kernel)",
                )
            )
        else:
            steps.append(Step.ok("kvm or tcg", detail))
    if smoke.status is TrialStatus.OK:
        steps.append(Step.ok("1 s fio", smoke.describe()))
    else:
        steps.append(
            Step.fail("1 s fio", smoke.describe(), "iocompare run --env " + environment + " shows the whole error")
        )
    return steps


def check_environment(environment: str, *, target: Path, fio_path: str | None, progress: Progress) -> EnvironmentReport:
    kind = registry.split_name(environment)[0]
    steps: list[Step] = []
    fio_step, fio = _fio_step(fio_path)
    steps += [fio_step, _target_step(target)]
    if kind in ("podman", "docker", "qemu", "firecracker"):
        progress(f"{environment}: building or finding its image")
        steps.append(_image_step(kind))
    if kind == "firecracker":
        steps += firecracker_steps()
    steps.append(_available_step(environment))
    if all(s.passed for s in steps) and fio is not None:
        progress(f"{environment}: a 1 s fio")
        steps += _smoke_step(environment, target, fio)
    else:
        steps.append(Step.skipped("1 s fio", "a step before it failed"))
    return EnvironmentReport(environment, tuple(steps))


def works(report: EnvironmentReport) -> bool:
    """Runs, even if only under software emulation (flagged in its results)."""
    return all(s.passed or s.name == "kvm or tcg" for s in report.steps) and any(
        s.name == "1 s fio" and s.passed for s in report.steps
    )
