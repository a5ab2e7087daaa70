"""The wire protocol: what actors and processes say to each other, and what a journal holds.

:mod:`~actors.wire.codec` turns records into msgpack bytes and back;
:mod:`~actors.wire.messages` are the records actors send;
:mod:`~actors.wire.journal` frames the records a journal keeps.
Nothing here knows an actor, a runtime or a venue.
"""
