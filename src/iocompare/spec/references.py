"""Reference cells and the host ceiling that the artifact checks need in a comparison run.

Artifact checks compare each environment with the host on the same storage: its throughput for
the same cell (check 3), its QD1 4 KiB random-read latency floor (check 4) and its fdatasync
latency (check 6). A comparison run without them could only say "not evaluated", so they are
added to the suite before expansion (and stored with it, so a resumed run expands the same).
"""

from __future__ import annotations

from iocompare.model import Pattern
from iocompare.spec.models import Suite, Workload

HOST = "host"
REMOTE = "remote"
REFERENCE_WORKLOADS = (
    Workload(name="ref-read-qd1", pattern=Pattern.RAND_READ, block_sizes=[4096], iodepth=1),
    Workload(name="ref-flush-probe", pattern=Pattern.FSYNC_PROBE, block_sizes=[4096], iodepth=1),
)


def needs_references(suite: Suite) -> bool:
    kinds = {name.partition(":")[0] for name in suite.environments}
    # Remote hosts are compared with each other: the local host is no ceiling for their storage.
    # A network run's reference is its loopback environment, not a storage cell.
    return suite.references and not suite.network and bool(kinds - {HOST}) and kinds != {REMOTE}


def _has(suite: Suite, reference: Workload) -> bool:
    return any(
        w.pattern is reference.pattern and 4096 in suite.block_sizes_of(w) and w.depth_for(4096) == 1 and w.numjobs == 1
        for w in suite.workloads
    )


def with_references(suite: Suite) -> tuple[Suite, list[str]]:
    """The suite plus what the checks need; and a note per addition, for the user."""
    if not needs_references(suite):
        return suite, []
    data = suite.model_dump(mode="json")
    notes = []
    if HOST not in suite.environments:
        data["environments"] = [HOST, *suite.environments]
        notes.append("added the host environment: the ceiling every other environment is checked against")
    for reference in REFERENCE_WORKLOADS:
        if not _has(suite, reference):
            data["workloads"].append(reference.model_dump(mode="json"))
            notes.append(f"added reference cell {reference.name}@4k for the artifact checks")
    return Suite.model_validate(data), notes
