"""Pure domain logic: no threads, no pykka, no I/O.

Everything here can be driven synchronously in a loop, which is what the
actors, the synchronous benchmark baseline and the tests all do.
"""
