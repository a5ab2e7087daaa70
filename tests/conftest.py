"""What every test directory shares: xdist's groups, kept working on pytest 9.2."""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test of an ``xdist_group`` its group's ``@name`` suffix, if xdist's own could not.

    ``--dist loadgroup`` (setup.cfg) finds a test's group in that suffix, which
    pytest-xdist 3.8 writes to ``item._nodeid``; pytest 9.2 keeps the node id
    in ``item._id`` instead, so the suffix was lost without a word and the
    groups' tests went to any worker: the Ray tests ran beside each other and
    a module fixture ran once on each worker that drew one of its tests
    (pytest-dev/pytest-xdist#1386).  Where the suffix is there already
    (another pytest, a fixed xdist), this does nothing.
    """
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers under --dist loadgroup
        return
    for item in items:
        names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                 for mark in item.iter_markers("xdist_group")}  # fmt: skip
        suffix = "@" + "_".join(sorted(names))
        node = getattr(item, "_id", None)
        if names and not item.nodeid.endswith(suffix) and node is not None and node.names:
            last = node.names[-1] + ("" if node.params is None else f"[{node.params}]") + suffix
            item._id = type(node)(path=node.path, names=(*node.names[:-1], last))
