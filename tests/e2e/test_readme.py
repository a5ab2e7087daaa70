"""The README's example run prints exactly what the README shows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_example_output_is_what_the_command_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## An example run", 1)[1]
    command = re.search(r"```sh\n(.*?)```", section, re.S)
    shown = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert command is not None and shown is not None
    argv = shlex.split(command.group(1).replace("\\\n", " "))
    assert argv[0] == "bin/run-shadow"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environ,
    )
    assert done.stdout == shown.group(1) + "\n"


def test_readme_recorded_market_example_prints_what_the_readme_shows() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("On recorded market data", 1)[1]
    command = re.search(r"```sh\n(.*?)\n```", section, re.S)
    assert command is not None
    shown = re.search(r"```\n(.*?)\n```", section[command.end() :], re.S)
    assert shown is not None
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"  # the python of the pipe
    done = subprocess.run(command.group(1), shell=True, capture_output=True, text=True, check=True, cwd=ROOT,
                          env=environ)  # fmt: skip
    assert done.stdout == shown.group(1) + "\n"
