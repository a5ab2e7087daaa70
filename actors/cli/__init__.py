"""The command line: ``run-shadow`` (:mod:`~actors.cli.run_shadow`) and ``mm-freeze`` (:mod:`~actors.cli.mm_freeze`).

:mod:`~actors.cli._launch` is the console entry point: it installs the
kill switch and signal handlers before the engine's modules are imported.
"""
