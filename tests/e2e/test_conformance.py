"""pykka's own test-suite passes on the pool and sim runtimes (downloads pykka's sdist with pip)."""

from __future__ import annotations

import json

import pytest

from actors.tools.conformance import ANCHOR, hook_conftest, main, summarise


def test_pykka_test_suite_passes_on_pool_and_sim(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--runtimes", "pool,sim"])
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert counts["runtimes"] == ["pool", "sim"]
    assert "failed" not in counts and "error" not in counts
    assert counts["passed"] >= 270  # 137 tests per runtime in pykka 4.5
    assert status == 0


def test_the_hook_goes_just_before_the_runtime_fixture() -> None:
    hooked = hook_conftest(f"RUNTIMES = {{}}\n\n{ANCHOR}\ndef runtime(): ...\n", ["sim"])
    assert hooked.index("extra_runtimes") < hooked.index(ANCHOR)
    assert "['sim']" in hooked
    with pytest.raises(ValueError, match="no runtime fixture"):
        hook_conftest("nothing to hook", ["pool"])


def test_the_summary_reads_pytests_last_line() -> None:
    assert summarise("...\n= 3 failed, 270 passed, 1 error in 2.0s =\n") == {"failed": 3, "passed": 270, "error": 1}
    assert summarise("") == {}


def test_an_unknown_runtime_is_refused_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--runtimes", "threads"])
    assert exited.value.code == 2
    assert "expected pool and/or sim" in capsys.readouterr().err
