"""Render fio job files (INI text) for one trial and for the working-set layout.

The rendered text is shown to users, so every option is preceded by a `; why` comment line.
Comments sit on their own lines because fio only treats whole lines starting with `;` or `#`
as comments. Values are plain integers (bytes, seconds) so the text does not depend on fio's
`kb_base` and stays identical between runs (tests compare it).
"""

from __future__ import annotations

import math

from iocompare.errors import UserError
from iocompare.model import Cell, Pattern, SteadyState
from iocompare.units import format_size

PERCENTILE_LIST = "50:99:99.9"
TRIAL_SECTION = "trial"
LAYOUT_SECTION = "layout"
_LAYOUT_MAX_BLOCK_BYTES = 1 << 20
_RANDOM_PATTERNS = (Pattern.RAND_READ, Pattern.RAND_WRITE, Pattern.MIXED_RAND)

Option = tuple[str, str, str]  # (name, value, why)


def render_job(cell: Cell, *, filename: str, seed: int, steady_state: SteadyState | None = None) -> str:
    """Job file for one trial of `cell` against the already laid-out file `filename`.

    With `steady_state`, fio ends the trial when the rule holds and `runtime` is its maximum.
    """
    _check_cell(cell)
    per_job_bytes = _per_job_bytes(cell)
    pattern = cell.pattern

    general: list[Option] = [
        ("ioengine", cell.ioengine, "IO engine of the cell; identical in every environment"),
        ("direct", "1" if cell.direct else "0", _direct_reason(cell.direct)),
        ("filename", _escape_filename(filename), "laid out beforehand by the layout job"),
        ("allow_file_create", "0", "a missing file is an error, never a silent layout inside the run"),
        ("time_based", "1", "run for a fixed time, not until the file is covered once"),
        ("ramp_time", str(cell.ramp_s), "seconds of warm-up excluded from the statistics"),
        (
            "runtime",
            str(cell.runtime_s),
            "measured seconds" if steady_state is None else "at most this many measured seconds",
        ),
        ("randrepeat", "0", "no built-in fixed seed; randseed below is recorded per trial"),
        ("randseed", str(seed), "this trial's seed, stored with the result so it can be replayed"),
        ("group_reporting", "1", "one aggregate result over all jobs"),
        ("lat_percentiles", "1", "report total latency (submission + completion) percentiles"),
        ("percentile_list", PERCENTILE_LIST, "the percentiles iocompare reports"),
        # Measured here: 0.1 s less of fio's own start-up and exit per trial (2.37 against 2.48 s
        # for a 2 s job), the harness overhead iocompare does not otherwise control.
        ("thread", "1", "jobs as threads of one fio process, not forked processes: faster start and exit"),
        ("disk_util", "0", "no disk utilisation statistics: iocompare's monitor reads the device counters"),
    ]
    if steady_state is not None:
        general += _steady_state_options(steady_state, cell.ramp_s)

    workload: list[Option] = [
        ("rw", pattern.fio_rw, f"access pattern {pattern.value}"),
    ]
    if pattern.mixed:
        workload.append(("rwmixread", str(cell.read_percent), "share of reads in percent; the rest are writes"))
    workload += [
        ("bs", str(cell.block_size_bytes), f"block size {format_size(cell.block_size_bytes)}"),
        ("iodepth", str(cell.iodepth), "IOs in flight per job (async engines only)"),
        ("numjobs", str(cell.numjobs), "parallel jobs"),
        ("size", str(per_job_bytes), _size_reason(cell, per_job_bytes)),
    ]
    if cell.numjobs > 1:
        workload.append(("offset_increment", str(per_job_bytes), "job n starts at n * size: disjoint regions"))
    if pattern in _RANDOM_PATTERNS:
        workload.append(("norandommap", "1", "pick offsets freely; no cost of tracking covered blocks"))
    if pattern.writes:
        workload += [
            ("refill_buffers", "1", "fresh data every write: a compressing or deduplicating layer gains nothing"),
            ("overwrite", "1", "write over allocated blocks, not first-write extent conversion"),
            ("end_fsync", "1", "writes pay for durability: the final flush is part of the run"),
        ]
    if pattern is Pattern.FSYNC_PROBE:
        workload.append(("fdatasync", "1", "flush after every write: shows whether flushes reach the device"))

    header = (
        f"; iocompare trial job: cell {cell.key}, pattern {pattern.value}, seed {seed}",
        "; never zero_buffers: zeroes are free to compress and some layers skip them",
    )
    return _render(header, [("global", general), (TRIAL_SECTION, workload)])


def render_layout_job(*, filename: str, size_bytes: int, direct: bool = True) -> str:
    """Job file that writes `filename` once, sequentially, over `size_bytes` and flushes it.

    Trials reuse this file, so they measure IO on allocated blocks rather than file growth.
    """
    if size_bytes <= 0:
        raise UserError(f"layout size must be positive, got {size_bytes}")
    # The largest power of two up to 1 MiB that divides the size, so the whole file is written.
    block_bytes = math.gcd(size_bytes, _LAYOUT_MAX_BLOCK_BYTES)
    if block_bytes < 512:
        raise UserError(f"layout size {size_bytes} is not a multiple of 512 bytes")
    options: list[Option] = [
        ("ioengine", "psync", "plain pread/pwrite: available everywhere, depth does not matter here"),
        ("direct", "1" if direct else "0", _direct_reason(direct)),
        ("filename", _escape_filename(filename), "the working-set file every trial reuses"),
        ("rw", "write", "one sequential pass over the whole file"),
        ("bs", str(block_bytes), f"block size {format_size(block_bytes)}: few, large writes"),
        ("size", str(size_bytes), f"working set {format_size(size_bytes)}"),
        ("refill_buffers", "1", "fresh data: a compressing or deduplicating layer must store it all"),
        ("end_fsync", "1", "the file is on stable storage before the first trial"),
    ]
    header = (
        f"; iocompare layout job: write {format_size(size_bytes)} once before the trials",
        "; never zero_buffers: zeroes are free to compress and some layers skip them",
    )
    return _render(header, [(LAYOUT_SECTION, options)])


def _steady_state_options(rule: SteadyState, ramp_s: int) -> list[Option]:
    return [
        (
            "steadystate",
            f"bw_slope:{rule.slope_percent:g}%",
            f"end the trial once bandwidth drifts by less than {rule.slope_percent:g} % of its mean per second",
        ),
        ("ss_dur", str(rule.window_s), "seconds of per-second bandwidth the slope is fitted over"),
        # fio's steadystate.c starts its rates once `ss_ramp` + 1 s have passed since the job's
        # clock started, and that clock restarts (byte counters zeroed) when ramp_time ends. At
        # least the ramp keeps the start from falling inside the warm-up, where the reset would
        # give one wrapped-around rate; then it starts ss_ramp + 1 s into the measured part.
        ("ss_ramp", str(SteadyState.start_s(ramp_s)), "the rule starts after the warm-up"),
    ]


def _render(header: tuple[str, ...], sections: list[tuple[str, list[Option]]]) -> str:
    lines = list(header)
    for name, options in sections:
        lines += ["", f"[{name}]"]
        for option, value, why in options:
            lines += [f"; {why}", f"{option}={value}"]
    return "\n".join(lines) + "\n"


def _check_cell(cell: Cell) -> None:
    """Refuse values fio would reject or silently reinterpret."""
    checks = [
        (cell.block_size_bytes > 0, f"block size must be positive, got {cell.block_size_bytes}"),
        (cell.iodepth >= 1, f"iodepth must be at least 1, got {cell.iodepth}"),
        (cell.numjobs >= 1, f"numjobs must be at least 1, got {cell.numjobs}"),
        (cell.runtime_s >= 1, f"runtime must be at least 1 s, got {cell.runtime_s}"),
        (cell.ramp_s >= 0, f"ramp time must not be negative, got {cell.ramp_s}"),
        (
            bool(cell.ioengine) and cell.ioengine.isprintable() and "=" not in cell.ioengine,
            f"not an ioengine name: {cell.ioengine!r}",
        ),
    ]
    if cell.pattern.mixed:
        ok = cell.read_percent is not None and 0 <= cell.read_percent <= 100
        checks.append((ok, f"mixed pattern {cell.pattern.value} needs read_percent 0..100, got {cell.read_percent}"))
    for ok, message in checks:
        if not ok:
            raise UserError(f"cell {cell.key}: {message}")


def _per_job_bytes(cell: Cell) -> int:
    """Each job gets an equal, block-aligned slice of the working set."""
    per_job = cell.working_set_bytes // cell.numjobs
    per_job -= per_job % cell.block_size_bytes
    if per_job < cell.block_size_bytes:
        raise UserError(
            f"cell {cell.key}: working set {format_size(cell.working_set_bytes)} is too small "
            f"for {cell.numjobs} job(s) at {format_size(cell.block_size_bytes)} blocks"
        )
    return per_job


def _size_reason(cell: Cell, per_job_bytes: int) -> str:
    if cell.numjobs == 1:
        return f"working set {format_size(per_job_bytes)}"
    return f"working set split over {cell.numjobs} jobs: {format_size(per_job_bytes)} each"


def _direct_reason(direct: bool) -> str:
    if direct:
        return "O_DIRECT: bypass the page cache of the environment running fio"
    return "buffered IO, asked for explicitly: the page cache takes part in the result"


def _escape_filename(filename: str) -> str:
    """fio splits `filename` on ':' (several files); a literal colon is written as '\\:'.

    fio 3.33 cuts a value at ';' or '#' (inline comment) and expands `${VAR}`, with no escape
    for either, so such names are refused rather than silently pointing fio elsewhere.
    """
    unusable = not filename or not filename.isprintable() or filename != filename.strip()
    if unusable or any(char in filename for char in ";#$"):
        raise UserError(
            f"fio cannot use this file name: {filename!r}",
            hint="avoid ';', '#', '$', control characters and surrounding spaces",
        )
    return filename.replace(":", "\\:")
