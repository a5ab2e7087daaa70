"""Assembly: from a configuration to a running engine and its report.

:mod:`~actors.assembly.config` (the settings), :mod:`~actors.assembly.market_setup`
(what the settings and the data decide), :mod:`~actors.assembly.system` (the
actors wired on a runtime), :mod:`~actors.assembly.recovery` (a journaled
run rebuilt), :mod:`~actors.assembly.report` (the report's bytes) and
:mod:`~actors.assembly.baseline` (the same cores run synchronously, to
cross-check the actors).
"""
