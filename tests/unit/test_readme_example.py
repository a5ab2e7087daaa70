"""The example of README.md "Writing and testing an actor", kept runnable here."""

from __future__ import annotations

from dataclasses import dataclass

from actors.runtime import MessageActor, handles
from actors.testing import Sim
from actors.wire._codec import Message, encode, message


@message
@dataclass(frozen=True, slots=True)
class Greet(Message):
    name: str


@message
@dataclass(frozen=True, slots=True)
class Greeting(Message):
    text: str


class Greeter(MessageActor):
    """Answers every Greet with a Greeting to the actor at ``reply_to``."""

    def __init__(self, reply_to: str) -> None:
        super().__init__()
        self.reply_to = reply_to
        self.greeted = 0

    @handles(Greet)
    def on_greet(self, greet: Greet) -> None:
        self.greeted += 1
        self.send(self.reply_to, Greeting(f"hello, {greet.name}"))


def test_greeter_answers_and_survives_garbage(sim: Sim) -> None:
    inbox = sim.probe("inbox")  # records what it receives
    sim.spawn(Greeter, "greeter", reply_to="inbox")
    sim.tell("greeter", encode(Greet("ada")))
    sim.tell("greeter", b"\xc1 not msgpack")  # a dead letter, counted; the actor keeps going
    sim.tell("greeter", encode(Greet("grace")))
    assert inbox.expect(Greeting).text == "hello, ada"
    assert inbox.expect(Greeting).text == "hello, grace"
    assert sim.stats.dead_letters == 1
    assert sim.actor("greeter").greeted == 2  # type: ignore[attr-defined]
