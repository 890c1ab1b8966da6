"""SQLite storage of runs, trials, fio results, raw fio output and monitor samples."""

from iocompare.store.db import Store
from iocompare.store.records import RunInfo, RunStatus, StoredRun, StoredTrial
from iocompare.store.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "RunInfo", "RunStatus", "Store", "StoredRun", "StoredTrial"]
