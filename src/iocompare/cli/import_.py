"""`iocompare import FILE... --env LABEL [--run NAME]`: existing fio JSON/json+ outputs become a
stored run of one environment, which `report`, `export` and `compare` then treat like any other.

All files are read and checked first; if any is rejected, every rejected file is listed (one line
each, with the reason) and nothing is stored (exit 2). The run is then written in one database
transaction, so an import is stored whole or not at all, even if the process is killed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from iocompare.cli.common import DbOption, console, resolve_db
from iocompare.engines.fio_import import ImportPlan, read_files
from iocompare.errors import UserError
from iocompare.execute.launch import process_identity
from iocompare.model import FioRun, Trial, TrialStatus
from iocompare.store import RunStatus, Store

IMPORTED_KIND = "imported"
MAX_LABEL = 200


def _check_label(env: str) -> str:
    if not env.strip():
        raise UserError(
            "--env must not be empty", hint="name the environment the files were measured in, e.g. --env host"
        )
    if len(env) > MAX_LABEL or any(ord(ch) < 32 for ch in env):
        raise UserError(
            f"--env {env[:40]!r} is not usable", hint=f"at most {MAX_LABEL} characters, no control characters"
        )
    return env


def _environment_facts(plan: ImportPlan) -> dict[str, str]:
    versions = sorted({t.result.fio_version for t in plan.trials})
    facts = {
        "kind": IMPORTED_KIND,
        "source": f"fio output imported from {len({t.source for t in plan.trials})} file(s)",
        "fio_version": ", ".join(versions),
    }
    targets = sorted({t.facts["target_path"] for t in plan.trials if "target_path" in t.facts})
    if len(targets) == 1:
        facts["target_path"] = targets[0]
    unknown = [*sorted(plan.unknown), "host, filesystem, device and monitor samples (not in fio output)"]
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


def import_(
    files: Annotated[
        list[Path], typer.Argument(help="fio JSON or json+ output files (fio 3.x, standalone or client/server).")
    ],
    env: Annotated[str, typer.Option("--env", help="Environment label the files were measured in, e.g. host or vm.")],
    run: Annotated[str | None, typer.Option("--run", help="Name of the new run (default: import-DATE-TIME).")] = None,
    db: DbOption = None,
) -> None:
    """Store existing fio JSON outputs as a run, for report, export and compare."""
    label = _check_label(env)
    plan = read_files(files)
    if plan.errors:
        for line in plan.errors:
            print(f"iocompare: import: {line}", file=sys.stderr)
        raise UserError(
            f"{len(plan.errors)} of {len(files)} file(s) not imported; nothing was stored",
            hint="fix or leave out the files above",
        )
    cells = plan.cells
    facts = _environment_facts(plan)
    with Store.open(resolve_db(db)) as store, store.batch():
        name = _free_name(store, run)
        run_id = store.create_run(
            name=name,
            suite_name="imported",
            suite_json=json.dumps({"name": "imported", "files": [str(f) for f in files]}),
            settings={"imported": True, "files": [str(f) for f in files], **process_identity()},
            host_facts={"source": "imported fio output: the host was not recorded"},
            environments=[(label, IMPORTED_KIND, facts)],
            cells=cells,
            created_at=min(t.started_at for t in plan.trials),
        )
        rounds: dict[str, int] = {}
        for index, item in enumerate(plan.trials):
            round_ = rounds.get(item.cell.key, 0)
            rounds[item.cell.key] = round_ + 1
            store.record_trial(
                run_id,
                Trial(index=index, round=round_, cell=item.cell, environment=label, seed=item.seed),
                status=TrialStatus.OK,
                reason=None,
                started_at=item.started_at,
                ended_at=item.ended_at,
                result=item.result,
                # The file itself is kept as the trial's raw output, so an improved parser can re-read it.
                # argv names the file; exit code 0 stands for "fio reported no error" (files with one are refused).
                raw=FioRun(("iocompare-import", str(item.source)), 0, item.raw, "", item.ended_at - item.started_at),
                facts=item.facts,
                samples=(),
                console=None,
            )
        store.finish_run(run_id, RunStatus.COMPLETE)
    out = console()
    out.print(
        f"imported {len(files)} file(s) as run {run_id} ({name}): {len(cells)} cell(s), {len(plan.trials)} trial(s), "
        f"environment {label}",
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
