"""Assembly: from a configuration to a running engine and its report.

:mod:`~actors.assembly._config` (the settings), :mod:`~actors.assembly._market_setup`
(what the settings and the data decide), :mod:`~actors.assembly._system` (the
actors wired on a runtime), :mod:`~actors.assembly._recovery` (a journaled
run rebuilt), :mod:`~actors.assembly._report` (the report's bytes) and
:mod:`~actors.assembly._baseline` (the same cores run synchronously, to
cross-check the actors).
"""
