"""The `iocompare` command and its single error boundary (exit codes: errors.ExitCode)."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from iocompare import __version__
from iocompare.cli import compare, diagnose, doctor, envs, export, image, import_, report, run, runs, schema, suites
from iocompare.errors import ExitCode, IocompareError, UserError
from iocompare.execute.launch import recover_leftovers
from iocompare.system.safe_text import escape
from iocompare.system.signals import Terminated

app = typer.Typer(
    name="iocompare",
    help="Compare storage IO across environments with the same fio job, on the same storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
for module in (run, report, compare, diagnose, export, import_, runs, suites, envs, schema, image, doctor):
    module.register(app)


_DAMAGE_ERRORS = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_ERROR", "SQLITE_READONLY"})


def _print_version(value: bool) -> None:
    if value:
        print(f"iocompare {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compare storage IO across environments with the same fio job, on the same storage."""


def _fail(message: str, code: ExitCode) -> int:
    # One line, whatever the message carries (a tool's output, a multi-line library message).
    parts = [part.strip() for part in message.splitlines() if part.strip()]
    print(f"iocompare: error: {escape('; '.join(parts))}", file=sys.stderr)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Whatever the command, leftovers of a run killed by SIGKILL are removed first (inside
        # the boundary: a damaged manifest or state directory is one line, not a traceback).
        try:
            recover_leftovers(lambda message: print(f"iocompare: {escape(message)}", file=sys.stderr))
        except UserError as exc:
            # an unusable state directory stops `run` (it calls recovery again); here it is a note
            print(f"iocompare: leftovers of killed runs not checked: {escape(exc.one_line())}", file=sys.stderr)
        result = app(args=args, prog_name="iocompare", standalone_mode=False)
    except typer.TyperException as exc:
        # Usage errors (exit code 2): typer's own message already names the option and the value.
        return _fail(
            exc.format_message().replace("\n", " "),
            ExitCode(exc.exit_code) if exc.exit_code in (1, 2) else ExitCode.BAD_INPUT,
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Terminated as exc:
        return _fail(f"terminated by {exc}", ExitCode.TERMINATED)
    except (KeyboardInterrupt, typer.Abort):
        return _fail("interrupted", ExitCode.INTERRUPTED)
    except IocompareError as exc:
        return _fail(exc.one_line(), exc.exit_code)
    except sqlite3.DatabaseError as exc:
        # Damage the checks at open time cannot see (a page cut off in the middle of the file) is
        # bad input; a disk that fails or a lock held too long is not.
        damaged = getattr(exc, "sqlite_errorname", None) in _DAMAGE_ERRORS
        return _fail(
            f"the results database cannot be used: {exc} (hint: use another --db)",
            ExitCode.BAD_INPUT if damaged else ExitCode.FAILURES,
        )
    return int(result) if isinstance(result, int) else 0


def entry_point() -> None:
    raise SystemExit(main())
