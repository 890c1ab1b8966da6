"""A network workload expanded into cells: one per message size and direction."""

from __future__ import annotations

from iocompare.model import Cell, Pattern
from iocompare.spec.models import Suite, Workload
from iocompare.spec.network import Direction, load_name


def network_cells(suite: Suite, workload: Workload) -> list[Cell]:
    directions = workload.direction.expand()
    if workload.pattern is Pattern.TCP_RR:
        directions = (Direction.TO_ENV,)  # a ping-pong is both ways at once
    cells = []
    for direction in directions:
        # Both directions are two workloads of the same name, told apart by their direction.
        name = f"{workload.name}.{direction.value}" if len(directions) > 1 else workload.name
        for size in suite.block_sizes_of(workload):
            cells.append(
                Cell(
                    workload=name,
                    pattern=workload.pattern,
                    block_size_bytes=size,
                    iodepth=1,
                    numjobs=workload.streams,
                    read_percent=None,
                    ioengine=load_name(workload.pattern, direction),
                    direct=False,
                    runtime_s=suite.runtime_s,
                    ramp_s=suite.ramp_s,
                    working_set_bytes=0,  # nothing is written to storage
                )
            )
    return cells
