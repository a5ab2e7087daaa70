"""Test actors and records shared by the runtime suites."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from actors.runtime import MessageActor, Runtime, SimRuntime, handles
from actors.runtime._base import BlockingCallError
from actors.wire._codec import Message, message


@message
@dataclass(frozen=True, slots=True)
class T_Num(Message):
    sender_tag: str
    n: int


@message
@dataclass(frozen=True, slots=True)
class T_Ping(Message):
    remaining: int


@message
@dataclass(frozen=True, slots=True)
class T_Boom(Message):
    text: str


@message
@dataclass(frozen=True, slots=True)
class T_Unhandled(Message):
    n: int


@message
@dataclass(frozen=True, slots=True)
class T_SendTo(Message):
    target: str
    count: int


@message
@dataclass(frozen=True, slots=True)
class T_Forward(Message):
    """Ask a Sender to pass ``payload * repeat`` on, as raw bytes, to ``target``."""

    target: str
    payload: bytes
    repeat: int


class Journal:
    """A thread-safe list the actors append to, readable from the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[object] = []

    def add(self, item: object) -> None:
        with self._lock:
            self._items.append(item)

    @property
    def items(self) -> list[object]:
        with self._lock:
            return list(self._items)


class Recorder(MessageActor):
    """Records (sender, record) of everything it handles; raises on T_Boom."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handles(T_Num)
    def on_num(self, msg: T_Num) -> None:
        self.journal.add((self.sender, msg.sender_tag, msg.n))

    @handles(T_Ping)
    def on_ping(self, msg: T_Ping) -> None:
        self.journal.add((self.sender, "ping", msg.remaining))

    @handles(T_Boom)
    def on_boom(self, msg: T_Boom) -> None:
        raise RuntimeError(msg.text)


class StoppingRecorder(Recorder):
    """A recorder whose failure policy is to stop."""

    failure_policy = "stop"


class Sender(MessageActor):
    """On T_SendTo, sends ``count`` numbered T_Num to the target."""

    @handles(T_SendTo)
    def on_send_to(self, msg: T_SendTo) -> None:
        for n in range(msg.count):
            self.send(msg.target, T_Num(self.address, n))

    @handles(T_Forward)
    def on_forward(self, msg: T_Forward) -> None:
        self.runtime.tell(msg.target, msg.payload * msg.repeat)


class PingPong(MessageActor):
    """Bounces a T_Ping to ``peer`` until it reaches zero."""

    def __init__(self, peer: str, journal: Journal) -> None:
        super().__init__()
        self.peer = peer
        self.journal = journal

    @handles(T_Ping)
    def on_ping(self, msg: T_Ping) -> None:
        if msg.remaining == 0:
            self.journal.add(("done", self.address))
            return
        self.send(self.peer, T_Ping(msg.remaining - 1))


def let_time_pass(runtime: Runtime, seconds: float) -> None:
    """Virtual time in sim, real time elsewhere; then wait for quiescence."""
    if isinstance(runtime, SimRuntime):
        runtime.advance(seconds)
    else:
        time.sleep(seconds)
    runtime.wait_idle()


def eventually(check: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Poll ``check`` (real-time runtimes only need this); the timeout only bounds a hang."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.005)
    return check()


class Asker(MessageActor):
    """Blocks on the actor at "recv" inside a handler: what pool and sim must refuse."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self.journal = journal

    @handles(T_Num)
    def on_num(self, _msg: T_Num) -> None:
        ref = self.runtime.directory.get("recv")
        assert ref is not None
        try:
            ref.proxy().address.get()
        except BlockingCallError as exc:
            self.journal.add(str(exc))
