"""pytest plugin (entry point ``pytest11``): the ``sim`` fixture.

Kept tiny on purpose: pytest loads plugins before coverage starts, so this
module imports the test kit only when a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from actors.testing import Sim


@pytest.fixture
def sim() -> Iterator[Sim]:
    """A fresh deterministic runtime (seed 0), shut down after the test."""
    from actors.testing import Sim

    runtime = Sim(0)
    yield runtime
    runtime.shutdown()
