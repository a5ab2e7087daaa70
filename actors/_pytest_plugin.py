"""pytest plugin (entry point ``pytest11``): the ``sim`` fixture and the ``expect_failures`` marker.

A handler that raises under the ``sim`` fixture fails the test: supervision
would otherwise swallow the exception (the actor resumes, restarts or stops)
and the test could pass without noticing.  A test whose failures are the
point says so with ``@pytest.mark.expect_failures`` and may read them from
``sim.failures``.  Failures while the test runs fail the test itself; failures
while the fixture shuts the sim down (handlers of messages still queued) are
an error at teardown.

Kept tiny on purpose: pytest loads plugins before coverage starts, so this
module imports the test kit only when a test asks for the fixture.  For the
same reason it sits at the package's root, not in ``actors.testing``: a
module of a package imports its package first, and the kit's package
imports the runtimes (their module-level lines would go uncounted).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from actors.testing import Sim

EXPECT_FAILURES = "expect_failures"
_SIM = pytest.StashKey["Sim"]()
_REPORTED = pytest.StashKey[int]()  # how many of the sim's failures were already reported


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers", f"{EXPECT_FAILURES}: handler exceptions under the sim fixture are expected and do not fail the test"
    )


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[Sim]:
    """A fresh deterministic runtime (seed 0), shut down after the test; handler failures fail the test."""
    from actors.testing import Sim

    runtime = Sim(0)
    request.node.stash[_SIM] = runtime
    yield runtime
    runtime.shutdown()
    unexpected = _unexpected_failures(request.node)
    if unexpected is not None:
        pytest.fail(f"while the sim shut down: {unexpected}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """After the test body: fail it if a handler raised (or add that to how it failed)."""
    try:
        result = yield
    except (Exception, pytest.fail.Exception) as exc:
        unexpected = _unexpected_failures(item)
        if unexpected is not None:
            exc.add_note(unexpected)
        raise
    unexpected = _unexpected_failures(item)
    if unexpected is not None:
        pytest.fail(unexpected, pytrace=False)
    return result


def _unexpected_failures(item: pytest.Item) -> str | None:
    """A description of the failures not reported yet, unless the test expects failures or used no sim."""
    runtime = item.stash.get(_SIM, None)
    if runtime is None or item.get_closest_marker(EXPECT_FAILURES) is not None:
        return None
    reported = item.stash.get(_REPORTED, 0)
    item.stash[_REPORTED] = len(runtime.failures)
    if len(runtime.failures) == reported:
        return None
    from actors.testing import describe_failures

    return describe_failures(runtime, reported)
