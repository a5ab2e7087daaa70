"""Every command in README.md and docs/*.md shown with its output prints that output: the docs cannot drift.

An example is a ``sh`` block followed, after one blank line, by an output
block (plain, ``json`` or ``text``).  The test finds every such pair, runs the
command and compares what it prints with the block, line for line.  A changed
behaviour fails here until the doc shows the new output.

Some figures vary by nature (latencies, timings).  An HTML comment between
the two blocks names them, as keys of what the line prints::

    <!-- doc-test: varies tick_to_order_ms late_intents -->

and those are compared by shape (the same keys, a number for a number);
everything else on the line still exactly.  Each line of such an output is
read as JSON or as a Python literal (what ``print`` of a dict gives).

Fast: ``bin/run-shadow ARGS`` runs in this process (``parse_config`` and
``run``, no ``MM_*`` variable, as a fresh shell), each set of flags once for
every example that shows it, and a ``| python -c '...'`` after it runs its
code here on the report; any other command runs in a shell.  A block shown
without output (a command to try, a cluster's address) is not run.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from actors.cli._run_shadow import parse_config, run

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))))
_NO_FENCE = r"(?:(?!```).)*?"
_EXAMPLE = re.compile(
    rf"```sh\n(?P<command>{_NO_FENCE})\n```\n\n(?:<!-- doc-test: (?P<marker>[^>]*?) -->\n\n)?"
    rf"```(?:json|text)?\n(?P<output>{_NO_FENCE})\n```",
    re.S,
)
EXAMPLES_PER_DOC = {"README.md": 4, "docs/EXECUTION.md": 3}
"""How many examples each doc shows: a doc whose example the pattern no longer finds fails here, not silently."""


@dataclass(frozen=True)
class Example:
    """One command of a doc and the output the doc shows for it."""

    doc: str
    line: int
    command: str
    output: str
    varies: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.doc}:{self.line}"


def examples() -> list[Example]:
    found = []
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for match in _EXAMPLE.finditer(text):
            marker = (match.group("marker") or "").split()
            assert not marker or marker[0] == "varies", f"{doc}: unknown doc-test marker {match.group('marker')!r}"
            line = text.count("\n", 0, match.start()) + 1
            command = match.group("command").replace("\\\n", " ")
            found.append(Example(doc, line, command, match.group("output"), frozenset(marker[1:])))
    return found


EXAMPLES = examples()


def test_every_doc_shows_the_examples_the_test_knows_of() -> None:
    counts = {doc: sum(e.doc == doc for e in EXAMPLES) for doc in DOCS}
    assert {doc: n for doc, n in counts.items() if n} == EXAMPLES_PER_DOC


@functools.cache
def _report(args: tuple[str, ...]) -> str:
    """What ``bin/run-shadow ARGS`` prints, run in this process once per set of flags."""
    return run(parse_config(list(args), {}))


def _python(code: str, stdin: str) -> str:
    """What ``python -c CODE`` prints with ``stdin`` as its input, run in this process."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), _stdin(stdin):
        exec(compile(code, "<python -c>", "exec"), {"__name__": "__main__"})  # the docs' own code
    return out.getvalue()


@contextlib.contextmanager
def _stdin(text: str) -> Iterator[None]:
    saved, sys.stdin = sys.stdin, io.StringIO(text)
    try:
        yield
    finally:
        sys.stdin = saved


def printed(command: str) -> str:
    """What ``command`` prints on stdout: in this process if it is the engine (and a python pipe), else a shell's."""
    words = shlex.split(command, comments=True)
    pipe = words.index("|") if "|" in words else len(words)
    left, right = words[:pipe], words[pipe + 1 :]
    if left and left[0] == "bin/run-shadow" and (not right or (right[:2] == ["python", "-c"] and len(right) == 3)):
        report = _report(tuple(left[1:]))
        return _python(right[2], report) if right else report
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"  # the python of a pipe
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=ROOT, env=environ,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _value(line: str) -> Any:
    """A line as JSON or a Python literal, else as it is."""
    for read in (json.loads, ast.literal_eval):
        with contextlib.suppress(ValueError, SyntaxError):
            return read(line)
    return line


def _shape(value: Any, varies: frozenset[str], varying: bool = False) -> Any:
    """``value`` with what varies by nature replaced by its kind (keys kept), so the rest compares exactly."""
    if isinstance(value, dict):
        return {key: _shape(item, varies, varying or key in varies) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item, varies, varying) for item in value]
    if varying and (value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))):
        return "<a number>"  # or none at all: a latency with no sample is null, however unlikely
    return value


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_a_doc_example_prints_what_the_doc_shows(example: Example) -> None:
    out = printed(example.command)
    if not example.varies:
        assert out.rstrip("\n").split("\n") == example.output.split("\n")
        assert out == example.output + "\n"
        return
    shown = [_shape(_value(line), example.varies) for line in example.output.split("\n")]
    assert [_shape(_value(line), example.varies) for line in out.rstrip("\n").split("\n")] == shown


def test_the_readme_python_example_returns_exactly_what_its_command_prints() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"from Python:\n\n```python\n(.*?)\n```\n\n```\n(.*?)\n```", readme, re.S)
    assert code is not None
    scope: dict[str, Any] = {"__name__": "readme"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code.group(1), "<README.md>", "exec"), scope)  # the README's own code
    assert out.getvalue() == code.group(2) + "\n"  # what it prints is what the README shows
    command = next(e for e in EXAMPLES if e.doc == "README.md")  # "the command above": the first example
    assert scope["text"] == printed(command.command) == command.output + "\n"


def test_a_varying_field_is_compared_by_shape_and_the_rest_exactly() -> None:
    varies = frozenset({"p50", "late"})
    line = "{'late': 0, 'ms': {'p50': 0.4, 'n': 31}}"
    assert _shape(_value(line), varies) == _shape(_value("{'late': 3, 'ms': {'p50': 9.1, 'n': 31}}"), varies)
    assert _shape(_value(line), varies) != _shape(_value("{'late': 0, 'ms': {'p50': 0.4, 'n': 30}}"), varies)
    assert _shape(_value(line), varies) != _shape(_value("{'late': 0, 'ms': {'p50': 0.4}}"), varies)


def test_a_command_other_than_the_engine_runs_in_a_shell_without_mm_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MM_SEED", "7")
    assert printed('echo "seed=${MM_SEED:-unset}" | tr a-z A-Z') == "SEED=UNSET\n"
