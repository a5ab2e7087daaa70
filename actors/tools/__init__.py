"""Developer tools shipped with the package: the benchmark (``bin/bench``) and pykka's conformance suite
(``bin/conformance``).  Nothing in the engine imports them.
"""
