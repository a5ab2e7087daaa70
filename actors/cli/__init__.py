"""The command line: ``run-shadow`` (:mod:`~actors.cli._run_shadow`) and ``mm-freeze`` (:mod:`~actors.cli._mm_freeze`).

:mod:`~actors.cli._launch` is the console entry point: it installs the
kill switch and signal handlers before the engine's modules are imported.
"""
