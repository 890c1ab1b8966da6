"""`iocompare import FILE... --env LABEL [--run NAME]`: existing fio JSON/json+ outputs become a
stored run, which `report`, `export` and `compare` then treat like any other. Naming an imported
run that exists adds the files to it: LABEL becomes another environment of that run (or gets more
trials), and trials join the run's cells whose job options they share, so `report --baseline`
compares environments and every artifact check applies.

All files are read and checked first; if any is rejected, every rejected file is listed (one line
each, with the reason) and nothing is stored (exit 2). The run is then written in one database
transaction, so an import is stored whole or not at all, even if the process is killed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import DbOption, console, resolve_db
from iocompare.engines.fio_import import ExistingRun, ImportPlan, read_files
from iocompare.engines.fio_options import WorkloadIdentity, identity_of, options_from_facts
from iocompare.errors import UserError
from iocompare.execute.launch import process_identity
from iocompare.facts import registry as fk
from iocompare.model import Cell, FioRun, Trial, TrialStatus
from iocompare.store import RunStatus, Store
from iocompare.store.db import check_run_name
from iocompare.store.records import StoredRun
from iocompare.system.safe_text import NAME_MAX, name_problem

IMPORTED_KIND = "imported"


def _check_label(env: str) -> str:
    if not env.strip():
        raise UserError(
            "--env must not be empty", hint="name the environment the files were measured in, e.g. --env host"
        )
    problem = name_problem(env)
    if problem is not None:
        raise UserError(
            f"--env {env[:40]!r} is not usable: {problem}",
            hint=f"at most {NAME_MAX} printable characters, no control or bidi characters",
        )
    return env


# Facts the files say of the storage path, summarised per environment over its trials.
_PATH_FACTS = tuple(k.name for k in (fk.TARGET_PATH, fk.TARGET_DEVICE, fk.JOB_DIRECT, fk.JOB_IOENGINE, fk.JOB_FSYNC,
                                      fk.JOB_FDATASYNC, fk.JOB_SYNC, fk.PERCENTILE_SOURCE))  # fmt: skip


def _summary(values: Sequence[str]) -> str:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else "varies: " + ", ".join(distinct)


def _environment_facts(
    trial_facts: Sequence[Mapping[str, str]], versions: Sequence[str], plan: ImportPlan
) -> dict[str, str]:
    facts = {
        "kind": IMPORTED_KIND,
        "source": f"fio output imported from {len({f.get('import_file') for f in trial_facts})} file(s)",
        "fio_version": ", ".join(sorted(set(versions))),
    }
    for key in _PATH_FACTS:
        values = [f[key] for f in trial_facts if key in f]
        if values:
            facts[key] = _summary(values)
    devices = [d for d in (fk.DISK_UTIL_DEVICE.get(f) for f in trial_facts) if d]
    if devices and len(set(devices)) == 1:
        facts[fk.DEVICE.name] = devices[0]  # the device fio's disk_util counted (fio's view, e.g. a guest's vdb)
    unknown = [*sorted(plan.unknown), "host, filesystem and monitor samples (not in fio output)"]
    if fk.DEVICE.name not in facts:
        unknown.append("device (no disk_util in the files)")
    facts["import_unknown"] = "; ".join(unknown)
    if plan.derived:
        facts["import_derived"] = "; ".join(sorted(plan.derived))
    return facts


def _free_name(store: Store, wanted: str | None) -> str:
    if wanted is not None:
        return wanted  # create_run refuses a taken or unusable name with a clear message
    base = time.strftime("import-%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        try:
            store.resolve_run(name)
        except UserError:
            return name
    raise UserError("no free run name", hint="pass --run NAME")


def _clients(facts: Mapping[str, str]) -> int:
    return max(1, len(facts["fio_clients"].split(", "))) if facts.get("fio_clients") else 1


def _existing(db: Path, run: str | None, label: str) -> StoredRun | None:
    """The imported run `--run` names, when it exists: the files join it."""
    if run is None or not db.exists():
        return None
    with Store.open(db, create=False) as store:
        try:
            run_id = store.resolve_run(run)
        except UserError:
            return None
        stored = store.load_run(run_id)
    if stored.settings.get("imported") is not True:
        raise UserError(
            f"run {stored.info.name!r} was measured by iocompare, not imported: files can only join an imported run",
            hint="choose another --run name",
        )
    kind = stored.environments.get(label, (IMPORTED_KIND, {}))[0]
    if kind != IMPORTED_KIND:
        raise UserError(f"environment {label!r} of run {stored.info.name!r} is not an imported one")
    return stored


def _joining(stored: StoredRun | None) -> ExistingRun | None:
    if stored is None:
        return None
    cells: dict[WorkloadIdentity, Cell] = {}
    contents: dict[str, str] = {}
    for st in stored.trials:
        options = options_from_facts(st.facts)
        if options is not None:
            cells.setdefault(identity_of(st.trial.cell, options, clients=_clients(st.facts)), st.trial.cell)
        digest = fk.IMPORT_SHA256.get(st.facts)
        if digest:
            contents[digest] = st.facts.get("import_file", "an earlier file")
    return ExistingRun(stored.info.name, cells, frozenset(c.key for c in stored.cells), contents)


def _store(
    store: Store, plan: ImportPlan, files: Sequence[Path], label: str, run: str | None, stored: StoredRun | None
) -> tuple[int, str]:
    """Create the run, or add to it; returns its id and name. Inside the caller's batch."""
    new_facts = [t.facts for t in plan.trials]
    versions = [t.result.fio_version for t in plan.trials]
    if stored is None:
        name = _free_name(store, run)
        run_id = store.create_run(
            name=name,
            suite_name="imported",
            suite_json=json.dumps({"name": "imported", "files": [str(f) for f in files]}),
            settings={"imported": True, "files": [str(f) for f in files], **process_identity()},
            host_facts={"source": "imported fio output: the host was not recorded"},
            environments=[(label, IMPORTED_KIND, _environment_facts(new_facts, versions, plan))],
            cells=plan.cells,
            created_at=min(t.started_at for t in plan.trials),
        )
        first_index, rounds = 0, dict[str, int]()
    else:
        run_id, name = stored.info.id, stored.info.name
        old = [st for st in stored.trials if st.trial.environment == label]
        old_facts = [st.facts for st in old]
        old_versions = [st.result.fio_version for st in old if st.result is not None]
        facts = _environment_facts([*old_facts, *new_facts], [*old_versions, *versions], plan)
        if label in stored.environments:
            store.update_environment_facts(run_id, label, facts)
        else:
            store.add_environment(run_id, label, IMPORTED_KIND, facts)
        keys = {c.key for c in stored.cells}
        store.add_cells(run_id, [c for c in plan.cells if c.key not in keys])
        store.update_run_settings(run_id, {"files": [*stored.settings.get("files", []), *map(str, files)]})
        store.reopen_run(run_id)
        first_index = max((st.trial.index for st in stored.trials), default=-1) + 1
        rounds = dict[str, int]()
        for st in old:
            rounds[st.trial.cell.key] = rounds.get(st.trial.cell.key, 0) + 1
    for offset, item in enumerate(plan.trials):
        round_ = rounds.get(item.cell.key, 0)
        rounds[item.cell.key] = round_ + 1
        store.record_trial(
            run_id,
            Trial(index=first_index + offset, round=round_, cell=item.cell, environment=label, seed=item.seed),
            status=TrialStatus.OK,
            reason=None,
            started_at=item.started_at,
            ended_at=item.ended_at,
            result=item.result,
            # The file itself is kept as the trial's raw output, so an improved parser can re-read it.
            # argv names the file; fio's exit code is not in its output, so none is recorded.
            raw=FioRun(("iocompare-import", str(item.source)), None, item.raw, "", item.ended_at - item.started_at),
            facts=item.facts,
            samples=(),
            console=None,
        )
    store.finish_run(run_id, RunStatus.COMPLETE)
    return run_id, name


def import_(
    files: Annotated[
        list[Path], typer.Argument(help="fio JSON or json+ output files (fio 2.x or 3.x, standalone or client/server).")
    ],
    env: Annotated[str, typer.Option("--env", help="Environment label the files were measured in, e.g. host or vm.")],
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="Run to create (default: import-DATE-TIME), or an imported run to add the files to."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Store existing fio JSON outputs as a run, or add them to an imported run as another environment."""
    label = _check_label(env)
    db_path = resolve_db(db)
    stored = _existing(db_path, run, label)
    if stored is None and run is not None:
        check_run_name(run)  # a new run's name, before the database is created (found by the fuzzer)
    plan = read_files(files, into=_joining(stored))
    if plan.errors:
        # One line, as every bad input: each refused file with its reason, in the order given.
        raise UserError(
            f"{len(plan.errors)} of {len(files)} file(s) not imported; nothing was stored: " + "; ".join(plan.errors),
            hint="fix or leave out the files named",
        )
    with Store.open(db_path) as store, store.batch():
        run_id, name = _store(store, plan, files, label, run, stored)
    out = console()
    verb = "added" if stored is not None else "imported"
    out.print(
        f"{verb} {len(files)} file(s) as run {run_id} ({name}): {len(plan.cells)} cell(s), "
        f"{len(plan.trials)} trial(s), environment {label}",
        markup=False,
        highlight=False,
    )
    if plan.unknown:
        out.print(
            f"not in the files (shown as unknown): {', '.join(sorted(plan.unknown))}", markup=False, highlight=False
        )
    out.print(f"next: iocompare report {run_id}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
