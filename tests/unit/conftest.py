"""Fixtures shared by the unit suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actors.runtime import Runtime, create_runtime

RUNTIME_NAMES = ["threads", "pool", "sim"]


@pytest.fixture(params=RUNTIME_NAMES)
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """Each runtime in turn; shut down after the test."""
    built = create_runtime(request.param)
    yield built
    built.shutdown()
