"""The wire protocol: what actors and processes say to each other, and what a journal holds.

:mod:`~actors.wire._codec` turns records into msgpack bytes and back;
:mod:`~actors.wire._messages` are the records actors send;
:mod:`~actors.wire._journal` frames the records a journal keeps.
Nothing here knows an actor, a runtime or a venue.
"""

from actors.wire._codec import Message, WireError, decode, encode, message

__all__ = ["Message", "WireError", "decode", "encode", "message"]
