"""``bin/install-test-deps`` says in a few lines what it does; the installers' output goes to a log, shown on failure.

The installers are stand-ins on PATH (a ``python`` that prints as much as pip
does, a ``chromium`` that is there), so nothing is installed and nothing
leaves the machine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOISE = "Collecting something-or-other"


def _stand_ins(where: Path, status: int, *, chromium: bool = True) -> dict[str, str]:
    """A PATH of stand-ins (and the few tools the script uses), and the log's place."""
    where.mkdir()
    noisy = f'#!/bin/sh\nfor i in $(seq 300); do echo "{NOISE} $i"; done\necho "$0: ERROR at the end" >&2\nexit {{}}\n'
    tools = {"python": noisy.format(status), "apt-get": noisy.format(0)}
    if chromium:
        tools["chromium"] = "#!/bin/sh\nexit 0\n"
    for name, text in tools.items():
        (where / name).write_text(text)
        (where / name).chmod(0o755)
    for name in ("bash", "sh", "seq", "tail", "id", "env", "dirname"):  # nothing else from /usr/bin: no real chromium
        found = shutil.which(name)
        assert found is not None, name
        (where / name).symlink_to(found)
    return {"PATH": str(where), "INSTALL_TEST_DEPS_LOG": str(where / "log")}


def _install(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ROOT / "bin" / "install-test-deps")], capture_output=True, text=True, env=env,
                          timeout=60, check=False)  # fmt: skip


def test_a_set_up_that_works_prints_a_few_lines_and_keeps_the_installers_output_in_its_log(tmp_path: Path) -> None:
    env = _stand_ins(tmp_path / "bin", status=0)
    done = _install(env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert 2 <= len(lines) <= 4 and NOISE not in done.stdout and done.stderr == "", done.stdout
    assert "headless Chromium is there" in lines[0] and lines[-1].startswith("install-test-deps: ready")
    assert f"{NOISE} 300" in Path(env["INSTALL_TEST_DEPS_LOG"]).read_text()


def test_a_set_up_that_fails_shows_the_end_of_the_log_and_its_status(tmp_path: Path) -> None:
    env = _stand_ins(tmp_path / "bin", status=3)
    done = _install(env)
    assert done.returncode == 3
    assert done.stdout.splitlines()[-1].endswith("failed (exit status 3)")
    assert f"{NOISE} 300" in done.stderr and "python: ERROR at the end" in done.stderr
    assert f"{NOISE} 1\n" not in done.stderr  # the last lines, not all of them


def test_chromium_missing_is_installed_with_apt_get_in_two_lines_of_its_own(tmp_path: Path) -> None:
    env = _stand_ins(tmp_path / "bin", status=0, chromium=False)
    done = _install(env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 4 and NOISE not in done.stdout, done.stdout
    assert lines[0].startswith("install-test-deps: apt-get update ...") and "installing Debian's chromium" in lines[1]
    assert Path(env["INSTALL_TEST_DEPS_LOG"]).read_text().count(f"{NOISE} 300") == 3  # apt-get twice, pip once
