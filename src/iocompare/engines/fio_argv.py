"""The one fio command line of a trial, whichever environment runs it: json+ (histogram bins for
merged percentiles) written to a file, so fio's own messages on stdout never corrupt the result."""

from __future__ import annotations


def fio_argv(fio: str, *, output: str, job: str) -> list[str]:
    return [fio, "--output-format=json+", f"--output={output}", job]
