"""Options and helpers shared by subcommands."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from iocompare.analysis.compare import Policy
from iocompare.errors import UserError
from iocompare.system.safe_text import escape

DB_ENV = "IOCOMPARE_DB"


def default_db_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "iocompare" / "results.db"


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        envvar=DB_ENV,
        help=f"SQLite database of results (env {DB_ENV}; default ~/.local/share/iocompare/results.db).",
        show_default=False,
    ),
]


def resolve_db(db: Path | None) -> Path:
    path = db if db is not None else default_db_path()
    if not str(path) or "\0" in str(path):
        raise UserError(f"--db {str(path)!r} is not a usable path", hint=f"give a file name (or set {DB_ENV})")
    return path


def refuse_empty(options: dict[str, str | None]) -> None:
    """An option given as an empty (or blank) string is bad input, never the same as leaving it out."""
    for option, value in options.items():
        if value is not None and not value.strip():
            raise UserError(f"{option} {value!r} is empty", hint=f"leave {option} out for the default")


PIPE_WIDTH = 160  # stdout is not a terminal and COLUMNS is not set: wide enough for --verbose tables


def output_width(stream_is_tty: bool) -> int | None:
    """COLUMNS when set (also when piped, so `COLUMNS=80 iocompare report | less` is 80 wide), else
    the terminal's width (None: rich asks the terminal), else PIPE_WIDTH."""
    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) >= 40:
        return int(text)
    return None if stream_is_tty else PIPE_WIDTH


class SafeConsole(Console):
    """A rich Console whose every string (printed, or a table cell) has its control, ESC and bidi
    characters escaped first: stored names and tools' messages never steer the terminal. rich's
    own styling is added after this, so colours still work."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(escape(text), **kwargs)


def console() -> Console:
    # Created per call so tests that capture sys.stdout see the output.
    return SafeConsole(file=sys.stdout, width=output_width(sys.stdout.isatty()), highlight=False)


def err_console() -> Console:
    return SafeConsole(file=sys.stderr, highlight=False, width=None if sys.stderr.isatty() else 200)


def notifier() -> Callable[[str], None]:
    """One line on stderr per notice a run prints while it goes (leftovers removed, cells refused)."""
    err = err_console()
    return lambda message: err.print(message, markup=False)


def for_stdout(text: str) -> str:
    """Data printed to stdout (CSV, JSON, Markdown, --plain): escaped for a terminal, kept as it is for a pipe."""
    return escape(text) if sys.stdout.isatty() else text


ThresholdOption = Annotated[
    float,
    typer.Option(
        "--threshold",
        help="Noise threshold in percent: smaller effects are never called faster or slower.",
    ),
]


def policy_for(threshold: float) -> Policy:
    """The analysis policy for `--threshold` (percent)."""
    if not 0 <= threshold < 100:
        raise UserError(f"--threshold {threshold:g} is out of range: must be a percentage from 0 to below 100")
    return Policy(noise=threshold / 100)
