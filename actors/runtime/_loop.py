"""pykka's actor loop, one envelope at a time, for the runtimes that run actors themselves.

The pool and the sim do not give an actor a thread, so they cannot run
pykka's own loop; they call :func:`handle_envelope` for each message, and the
inboxes and drains of every runtime answer messages to a stopped actor the
way pykka does (:func:`answer_dead`, :func:`refuse_closed`).  pykka's own test
suite, run against our runtimes (``bin/conformance``), holds them to it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import pykka


def answer_dead(envelope: Any, owner: str) -> bool:
    """Answer an ask that reached a stopped actor; False for a tell (the caller dead-letters it).

    pykka resolves such asks rather than raising at the sender: a stop request
    is answered with ``None`` (the actor is stopped, as asked), any other ask
    with ``ActorDeadError``.
    """
    if envelope.reply_to is None:
        return False
    if isinstance(envelope.message, pykka.messages._ActorStop):
        envelope.reply_to.set(None)
    else:
        envelope.reply_to.set_exception(exc_info=(pykka.ActorDeadError, pykka.ActorDeadError(f"{owner} stopped"), None))
    return True


class CallerInterrupted(BaseException):
    """Raised by a program's own SIGINT handler (``bin/run-shadow``'s): it ends the caller's wait.

    pykka stops an actor whose handler raises a ``BaseException``; when the
    sim runs handlers on the caller's own thread, a Ctrl-C landing inside one
    must still reach the caller, so this one is passed on after the stop.
    """


_pykka_log = logging.getLogger("pykka")
"""pykka's own logger: what pykka logs from its actor loop, ours logs there too."""


def handle_envelope(actor: Any, envelope: Any) -> None:
    """pykka's per-message loop body, for one envelope, shared by the pool and sim loops.

    An exception answers an ask, or goes to the failure hook for a tell; a
    ``BaseException`` (``KeyboardInterrupt``, ``SystemExit``) stops this actor
    and asks every actor to stop, as pykka's own loop does, without killing
    the thread that runs it.
    """
    message = envelope.message
    try:  # wire bytes are no pykka control message: straight to the actor (pykka's four type tests skipped)
        response = actor.on_receive(message) if type(message) is bytes else actor._handle_receive(message)
        if envelope.reply_to is not None:
            envelope.reply_to.set(response)
    except Exception:
        if envelope.reply_to is not None:
            _pykka_log.info(f"Exception returned from {actor} to caller:", exc_info=sys.exc_info())
            envelope.reply_to.set_exception()
        else:
            actor._handle_failure(*sys.exc_info())
            try:
                actor.on_failure(*sys.exc_info())
            except Exception:
                actor._handle_failure(*sys.exc_info())
    except BaseException as exc:
        _pykka_log.debug(f"{exc!r} in {actor}. Stopping all actors.")
        actor._stop()
        pykka.ActorRegistry.stop_all(block=False)
        if isinstance(exc, CallerInterrupted):
            raise  # the sim runs handlers on the caller's thread: the caller's Ctrl-C is not the actor's to keep


def refuse_closed(envelope: Any, owner: str) -> None:
    """A ``put`` on a closed inbox: answer an ask, raise ``ActorDeadError`` for a tell."""
    if not answer_dead(envelope, owner):
        raise pykka.ActorDeadError(f"{owner} stopped")
