"""The CLI fuzzer of issue 13: generated argument lists (and the suite files and fio JSON they
name) for `run --dry-run`, `report`, `compare`, `export`, `import` and `runs`, each run in this
process against a copy of a stored run, and the promises every bad input must keep.

`problems(case)` runs one case and returns what it broke (empty: all kept). The unit test
asserts it stays empty for a bounded number of examples; benchmarks/fuzz_cli.py runs many more
and collects every distinct problem instead of stopping at the first.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from stored_runs import EVIL, hostile_builder, store_run
from suite_documents import ANY_VALUE, mutated_suites, toml_text, valid_suites

from iocompare.cli import main as cli_main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fio"
FIO_FIXTURES = ("seqwrite_1m.json", "randread_qd32_4k.json", "randrw_70_30.json", "client_server_two_clients.json")
WORK = "{work}"  # replaced by the case's own directory
DB = f"{WORK}/db/results.db"
READ_ONLY_COMMANDS = frozenset({"report", "compare", "export", "runs"})


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)  # name under the work directory -> content

    @property
    def command(self) -> str:
        return self.argv[0] if self.argv else ""


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


# -- what is generated ------------------------------------------------------------------------

ODD_TEXT = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["", " ", "-1", "0", "1.5", "1e400", "nan", "inf", "99999999999999999999", "\x1b[31m", "a\tb"]),
)
INTS = st.one_of(st.integers(min_value=-5, max_value=200).map(str), ODD_TEXT)
# Good values are drawn as often as all the bad ones together, so the commands also get to work.
REFS = st.one_of(
    st.sampled_from(["latest", "1", "evil-run"]),
    st.sampled_from(["2", "0", "-1", "", " latest ", "1.0", "\u00b2", "99999999999999999999"]),
    ODD_TEXT,
)
THRESHOLDS = st.one_of(
    st.sampled_from(["5", "0", "99.9", "2.5"]), st.sampled_from(["100", "-1", "nan", "inf", "1e400", "abc"]), ODD_TEXT
)
BASELINES = st.one_of(st.sampled_from(["host", EVIL]), st.sampled_from(["nope", ""]), ODD_TEXT)
# Item 4 of issue 13 (--output naming a directory or a read-only filesystem) is the issue-17 work;
# outputs here are files in a writable directory, present or not, or under a missing directory.
OUTPUTS = st.sampled_from(
    [f"{WORK}/out/r.md", f"{WORK}/out/r.json", f"{WORK}/out/r.html", f"{WORK}/out/r.csv", f"{WORK}/out/no-dir/r.json"]
)
DBS = st.one_of(
    st.just(DB),
    st.just(DB),
    st.just(DB),
    st.sampled_from([f"{WORK}/missing.db", f"{WORK}/target", f"{WORK}/suite.toml", ""]),
)


def _flags(pool: dict[str, st.SearchStrategy[str]], max_size: int = 3) -> st.SearchStrategy[list[str]]:
    if not pool:
        return st.just([])
    pairs = st.lists(st.sampled_from(sorted(pool)).flatmap(lambda f: st.tuples(st.just(f), pool[f])), max_size=max_size)
    return pairs.map(lambda items: [token for pair in items for token in pair])


@st.composite
def suite_bytes(draw: st.DrawFn) -> bytes:
    """A suite file: valid or one thing wrong, in UTF-8 or another encoding, or not TOML at all."""
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "utf-16", "bom", "binary", "nested", "large"]))
    if kind == "binary":
        return draw(st.binary(max_size=64))
    if kind == "nested":
        return b"x = " + b"[" * draw(st.integers(1, 5000)) + b"]" * draw(st.integers(0, 5000))
    if kind == "large":
        return b"#" * ((1 << 20) + draw(st.integers(-2, 2))) + b'\nname = "x"\n'
    doc = draw(valid_suites() if kind == "valid" else mutated_suites())
    text = toml_text(doc)
    if kind == "utf-16":
        return text.encode("utf-16")
    data = text.encode("utf-8", "surrogatepass")
    return b"\xef\xbb\xbf" + data if kind == "bom" else data


RUN_FLAGS = {
    "--repeat": INTS,
    "--max-repeat": INTS,
    "--runtime": INTS,
    "--ramp": INTS,
    "--reserve": st.one_of(
        st.sampled_from(["2g", "10%", "100%", "-1%", "nan%", "1e400%", "0", "1000t", "%"]), ODD_TEXT
    ),
    "--env": st.sampled_from(["host", "host:twin", "firecracker", "nope", "", "host:"]),
    "--name": st.one_of(st.sampled_from(["evil-run", "latest", "7", "fresh"]), ODD_TEXT),
    "--seed": INTS,
    "--target": st.sampled_from([f"{WORK}/target", f"{WORK}/missing-target", f"{WORK}/suite.toml", "", "/dev/null"]),
}


@st.composite
def dry_runs(draw: st.DrawFn) -> Case:
    suite = draw(
        st.one_of(
            st.just(f"{WORK}/suite.toml"),
            st.just(f"{WORK}/suite.toml"),
            st.sampled_from(["quick", "nope", "", "/dev/null"]),
        )
    )
    argv = ["run", "--dry-run", "--target", f"{WORK}/target", "--suite", suite, "--db", draw(DBS)]
    argv += draw(_flags(RUN_FLAGS))
    return Case(tuple(argv), {"suite.toml": draw(suite_bytes())})


@st.composite
def reads(draw: st.DrawFn) -> Case:
    command = draw(st.sampled_from(["report", "compare", "export", "runs"]))
    formats = {"report": ["terminal", "markdown", "json", "html"], "compare": ["terminal", "markdown", "json"]}
    pool: dict[str, st.SearchStrategy[str]] = {"--threshold": THRESHOLDS}
    positional: list[str] = []
    if command == "report":
        positional = [draw(REFS)]
        pool |= {"--baseline": BASELINES, "--output": OUTPUTS}
    elif command == "compare":
        positional = [draw(REFS), draw(REFS)]
    elif command == "export":
        positional = [draw(REFS)]
        formats["export"] = ["csv", "json"]
        pool |= {"--baseline": BASELINES, "--output": OUTPUTS, "--table": st.sampled_from(["trials", "summaries", "x"])}
    else:
        pool = {}
    if command in formats:
        pool["--format"] = st.one_of(st.sampled_from(formats[command]), st.sampled_from(formats[command]), ODD_TEXT)
    argv = [command, *positional, "--db", draw(DBS), *draw(_flags(pool))]
    return Case(tuple(argv))


def _leaves(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    out = []
    for key, value in items:
        out.append((*prefix, key))
        out.extend(_leaves(value, (*prefix, key)))
    return out


# Replaced values are of every JSON type, NaN, infinities, 1e30 and negative numbers included
# (issue 13 item 6, fixed by the import's own bounds).
FIO_VALUES = ANY_VALUE


@st.composite
def fio_json(draw: st.DrawFn) -> bytes:
    """fio output: a real one with a few values changed or keys removed, cut short, or not JSON."""
    text = (FIXTURES / draw(st.sampled_from(FIO_FIXTURES))).read_text()
    kind = draw(st.sampled_from(["as-is", "mutated", "mutated", "mutated", "cut", "binary"]))
    if kind == "cut":
        return text[: draw(st.integers(0, len(text)))].encode()
    if kind == "binary":
        return draw(st.binary(max_size=64))
    if kind == "as-is":
        return text.encode()
    doc = json.loads(text[text.index("{") :])
    for _ in range(draw(st.integers(1, 3))):
        paths = _leaves(doc)
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(FIO_VALUES)
    return json.dumps(doc).encode()


@st.composite
def imports(draw: st.DrawFn) -> Case:
    files = {f"in{n}.json": draw(fio_json()) for n in range(draw(st.integers(1, 2)))}
    names = [f"{WORK}/{name}" for name in files] + draw(
        st.lists(st.sampled_from([f"{WORK}/none.json", f"{WORK}/target"]), max_size=1)
    )
    argv = ["import", *names, "--db", draw(DBS), "--env", draw(st.one_of(st.just("box"), st.just("box"), BASELINES))]
    argv += draw(_flags({"--env": BASELINES, "--run": st.one_of(st.just("imp"), REFS)}, 1))
    return Case(tuple(argv), files)


CASES = st.one_of(dry_runs(), reads(), imports())


# -- running one case and judging it ----------------------------------------------------------


@functools.cache
def _template_db() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.db"
        store_run(path, hostile_builder())
        return path.read_bytes()


@contextlib.contextmanager
def _environment(work: Path) -> Iterator[None]:
    keys = ("IOCOMPARE_STATE_DIR", "IOCOMPARE_DB", "XDG_DATA_HOME", "XDG_STATE_HOME")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ["IOCOMPARE_STATE_DIR"] = str(work / "state")
    os.environ["XDG_DATA_HOME"] = str(work / "data")  # a default --db lands here, never in $HOME
    os.environ["XDG_STATE_HOME"] = str(work / "xdg-state")
    os.environ.pop("IOCOMPARE_DB", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_case(case: Case, work: Path) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    argv = [token.replace(WORK, str(work)) for token in case.argv]
    with _environment(work), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli_main.main(argv)
    return Outcome(code, out.getvalue(), err.getvalue())


def _files_under(path: Path) -> list[str]:
    if not path.exists():
        return []
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def _names_something(line: str, argv: list[str]) -> bool:
    """The error line names a field, an option, or a value the user gave."""
    message = line.removeprefix("iocompare: error: ")
    given = [t for t in argv if t.strip()]
    tokens = given + [os.path.basename(t) for t in given] + [t.encode("unicode_escape").decode() for t in given]
    if any(t in message for t in tokens) or "field" in message or "--" in message or "'" in message:
        return True
    # Click reads "-wal" as the short options -w -a -l and names the first it does not know.
    option = message.removeprefix("No such option: ")
    return option != message and any(t.startswith(option) for t in tokens)


def problems(case: Case) -> list[str]:
    """Run the case in a directory of its own; every broken promise, as one line each."""
    return judge(case)[1]


def judge(case: Case) -> tuple[int | None, list[str]]:
    """The exit code (None: an exception escaped) and every broken promise, as one line each."""
    work = Path(tempfile.mkdtemp(prefix="iocompare-fuzz-"))
    try:
        for sub in ("db", "target", "out", "state"):
            (work / sub).mkdir()
        db = work / "db" / "results.db"
        db.write_bytes(_template_db())
        for name, data in case.files.items():
            (work / name).write_bytes(data)
        before = db.read_bytes()
        argv = [token.replace(WORK, str(work)) for token in case.argv]
        try:
            outcome = run_case(case, work)
        except BaseException as exc:  # the error boundary let something through
            return None, [f"{type(exc).__name__} escaped main(): {exc!s:.200} -- argv {argv!r:.300}"]
        found = []
        if outcome.code not in (0, 1, 2):
            found.append(f"exit code {outcome.code}")
        if "Traceback" in outcome.err + outcome.out:
            found.append("a traceback was printed")
        lines = outcome.err.strip().splitlines()
        if outcome.code == 2:
            if len(lines) != 1:
                found.append(f"exit 2 with {len(lines)} lines on stderr: {outcome.err.strip()[:300]!r}")
            elif not lines[0].startswith("iocompare: error: ") or not _names_something(lines[0], argv):
                found.append(f"exit 2 with a line that names nothing: {lines[0][:300]!r}")
            if _files_under(work / "out"):
                found.append("exit 2 but an output file was written")
        if (outcome.code == 2 or case.command in READ_ONLY_COMMANDS) and db.read_bytes() != before:
            found.append(f"{case.command} (exit {outcome.code}) changed the database")
        if case.command in READ_ONLY_COMMANDS or outcome.code == 2:
            beside = [name for name in os.listdir(work / "db") if name != "results.db"]
            if beside:
                found.append(f"left beside the database: {beside}")
            for created in ("missing.db", "data"):
                if (work / created).exists():
                    found.append(f"{case.command} (exit {outcome.code}) created {created}")
        if _files_under(work / "target"):
            found.append(f"left in the target: {_files_under(work / 'target')}")
        if _files_under(work / "state"):
            found.append(f"left in the state directory: {_files_under(work / 'state')}")
        return outcome.code, [f"{problem} -- argv {argv!r:.300}" for problem in found]
    finally:
        shutil.rmtree(work, ignore_errors=True)
