"""Reading runs back: a few bulk queries joined in Python, never one query per trial.

A run of 10,000 trials loads with five SELECTs whatever its size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from iocompare.model import Cell, DirectionResult, Sample, Trial, TrialStatus
from iocompare.store import rows
from iocompare.store.records import RunInfo, RunStatus, StoredRun, StoredTrial

_TRIAL_SELECT = (
    "SELECT t.id, t.cell_id, t.environment, t.round, t.trial_index, t.seed, t.status,"
    " t.reason, t.started_at, t.ended_at, t.wall_s, t.fio_exit_code, t.fio_argv_json,"
    f" t.facts_json, f.trial_id, {rows.columns(rows.RESULT_COLUMNS, 'f.')}"
    " FROM trials t LEFT JOIN fio_results f ON f.trial_id = t.id"
    " WHERE t.run_id = ? ORDER BY t.trial_index"
)
_TRIAL_FIXED = 15  # columns before the fio_results ones


def run_infos(conn: sqlite3.Connection, run_id: int | None) -> list[RunInfo]:
    """One run (by id) or all of them, newest first."""
    where, params = ("WHERE r.id = ?", (run_id,)) if run_id is not None else ("", ())
    envs: dict[int, list[str]] = {}
    for env_run, env_name in conn.execute(
        "SELECT e.run_id, e.name FROM run_environments e JOIN runs r ON r.id = e.run_id"
        f" {where} ORDER BY e.run_id, e.position",
        params,
    ):
        envs.setdefault(env_run, []).append(env_name)
    return [
        RunInfo(
            id=row[0],
            name=row[1],
            created_at=row[2],
            finished_at=row[3],
            status=RunStatus(row[4]),
            suite_name=row[5],
            environments=tuple(envs.get(row[0], ())),
            trials_ok=row[6],
            trials_total=row[7],
        )
        for row in conn.execute(
            "SELECT r.id, r.name, r.created_at, r.finished_at, r.status, r.suite_name,"
            " (SELECT count(*) FROM trials t WHERE t.run_id = r.id AND t.status = ?),"
            " (SELECT count(*) FROM trials t WHERE t.run_id = r.id)"
            f" FROM runs r {where} ORDER BY r.id DESC",
            (TrialStatus.OK.value, *params),
        )
    ]


def load_run(conn: sqlite3.Connection, run_id: int) -> StoredRun | None:
    infos = run_infos(conn, run_id)
    if not infos:
        return None
    settings, suite_json, host_facts = conn.execute(
        "SELECT settings_json, suite_json, host_facts_json FROM runs WHERE id = ?", (run_id,)
    ).fetchone()
    environments = {
        name: (kind, rows.loads(facts))
        for name, kind, facts in conn.execute(
            "SELECT name, kind, facts_json FROM run_environments WHERE run_id = ? ORDER BY position",
            (run_id,),
        )
    }
    cells = {
        row[0]: rows.cell_from_row(row[1:])
        for row in conn.execute(
            f"SELECT id, {rows.columns(rows.CELL_COLUMNS)} FROM cells WHERE run_id = ? ORDER BY id",
            (run_id,),
        )
    }
    sides: dict[int, dict[str, DirectionResult]] = {}
    for row in conn.execute(
        f"SELECT d.trial_id, d.direction, {rows.columns(rows.DIRECTION_COLUMNS, 'd.')}"
        " FROM fio_result_directions d JOIN trials t ON t.id = d.trial_id WHERE t.run_id = ?",
        (run_id,),
    ):
        sides.setdefault(row[0], {})[row[1]] = rows.direction_from_row(row[2:])
    trials = [_stored_trial(row, cells, sides) for row in conn.execute(_TRIAL_SELECT, (run_id,))]
    return StoredRun(
        info=infos[0],
        settings=rows.loads(settings),
        suite_json=suite_json,
        host_facts=rows.loads(host_facts),
        environments=environments,
        cells=list(cells.values()),
        trials=trials,
    )


def _stored_trial(
    row: Sequence[Any], cells: Mapping[int, Cell], sides: Mapping[int, dict[str, DirectionResult]]
) -> StoredTrial:
    (
        trial_id,
        cell_id,
        env,
        round_,
        index,
        seed,
        status,
        reason,
        started,
        ended,
        wall,
        exit_code,
        argv,
        facts,
        result_id,
    ) = row[:_TRIAL_FIXED]
    result = None
    if result_id is not None:
        side = sides.get(trial_id, {})
        result = rows.result_from_row(row[_TRIAL_FIXED:], side.get("read"), side.get("write"))
    return StoredTrial(
        id=trial_id,
        trial=Trial(index=index, round=round_, cell=cells[cell_id], environment=env, seed=seed),
        status=TrialStatus(status),
        reason=reason,
        started_at=started,
        ended_at=ended,
        wall_s=wall,
        facts=rows.loads(facts),
        result=result,
        fio_exit_code=exit_code,
        fio_argv=tuple(rows.loads(argv)) if argv is not None else None,
    )


def samples(conn: sqlite3.Connection, trial_id: int) -> list[Sample]:
    return [
        rows.sample_from_row(row)
        for row in conn.execute(
            f"SELECT {rows.columns(rows.SAMPLE_COLUMNS)} FROM samples WHERE trial_id = ? ORDER BY t_s, rowid",
            (trial_id,),
        )
    ]


def run_samples(conn: sqlite3.Connection, run_id: int) -> dict[int, list[Sample]]:
    found: dict[int, list[Sample]] = {}
    for row in conn.execute(
        f"SELECT s.trial_id, {rows.columns(rows.SAMPLE_COLUMNS, 's.')} FROM samples s"
        " JOIN trials t ON t.id = s.trial_id WHERE t.run_id = ?"
        " ORDER BY s.trial_id, s.t_s, s.rowid",
        (run_id,),
    ):
        found.setdefault(row[0], []).append(rows.sample_from_row(row[1:]))
    return found
