"""Binance's public market streams: the venues' endpoints, the stream names, and frames parsed into market events.

Pure: no I/O, no clock.  What a frame looks like is Binance's documented protocol
(spot: "WebSocket Streams for Binance", developers.binance.com/docs/binance-spot-api-docs/web-socket-streams;
USDⓈ-M: developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams):

- a combined stream (``/stream?streams=a/b`` or ``/stream`` and SUBSCRIBE) wraps every payload as
  ``{"stream": "<streamName>", "data": <rawPayload>}``; stream names are lower case;
- ``<symbol>@bookTicker``: spot ``{"u": 400900217, "s": "BNBUSDT", "b": "25.35", "B": "31.21", "a": "25.36",
  "A": "40.66"}`` (no event time); USDⓈ-M adds ``"e": "bookTicker", "E": <event ms>, "T": <transaction ms>``;
- ``<symbol>@aggTrade``: ``{"e": "aggTrade", "E": ms, "s": .., "a": <agg id>, "p": "0.001", "q": "100",
  "f": .., "l": .., "T": <trade ms>, "m": <buyer is maker>}`` (spot adds ``"M"``);
- ``<symbol>@depth@100ms``: ``{"e": "depthUpdate", "E": ms, "s": .., "U": <first id>, "u": <final id>,
  "b": [["price", "qty"], ...], "a": [...]}``; USDⓈ-M adds ``"T"`` and ``"pu"`` (the previous event's ``u``);
- a reply to SUBSCRIBE / UNSUBSCRIBE: ``{"result": null, "id": 1}``; an error: ``{"code": 2, "msg": "...", "id": 1}``.

Prices and quantities come as decimal strings; they become floats here as the file readers make them
(``float(text)``), so a recorded session read back gives the same floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from actors.core._instruments import canonical_symbol
from actors.markets._events import QUOTE, TRADE, MarketEvent


@dataclass(frozen=True)
class Venue:
    """One venue's public endpoints (defaults; every URL can be overridden by settings)."""

    name: str
    ws_url: str
    """The WebSocket base URL; the client appends ``/stream``."""
    rest_url: str
    """The REST base URL, for depth snapshots."""
    depth_path: str
    futures: bool
    """USDⓈ-M futures: depth updates carry ``pu`` and the book is checked by it (see :mod:`.book`)."""
    tardis_exchange: str
    """The ``exchange`` column a recording writes (Tardis's id for the venue)."""


VENUES: dict[str, Venue] = {
    "binance": Venue(
        "binance", "wss://stream.binance.com:9443", "https://api.binance.com", "/api/v3/depth", False, "binance"
    ),
    "binance-usdm": Venue(
        "binance-usdm",
        "wss://fstream.binance.com",
        "https://fapi.binance.com",
        "/fapi/v1/depth",
        True,
        "binance-futures",
    ),
}
"""The venues a live market can name: Binance spot and Binance USDⓈ-M futures."""

BOOK_TICKER, AGG_TRADE, DEPTH = "bookTicker", "aggTrade", "depth@100ms"


def stream_names(symbols: tuple[str, ...] | list[str], depth: bool) -> list[str]:
    """The streams subscribed for ``symbols``: best bid/ask and trades, and depth diffs when asked."""
    kinds = (BOOK_TICKER, AGG_TRADE, DEPTH) if depth else (BOOK_TICKER, AGG_TRADE)
    return [f"{symbol.lower()}@{kind}" for symbol in symbols for kind in kinds]


class BadFrame(ValueError):
    """A frame that is not one the protocol sends (or not for a symbol subscribed); counted, the stream goes on."""


@dataclass(frozen=True)
class Reply:
    """The venue's answer to a SUBSCRIBE / UNSUBSCRIBE (``error`` is its message, or None)."""

    id: int
    error: str | None


@dataclass(frozen=True)
class Quote:
    """A best bid/ask: the engine's event, and the venue's own time (µs; 0 when the stream has none)."""

    event: MarketEvent
    exchange_us: int


@dataclass(frozen=True)
class Trade:
    """A trade: the engine's event, the venue's time (µs), its aggregate id and the taker's side."""

    event: MarketEvent
    exchange_us: int
    trade_id: int
    side: str
    """``buy`` or ``sell``: the taker's side (``m`` true means the buyer made the market, so the taker sold)."""


@dataclass(frozen=True)
class DepthDiff:
    """One depth update: the update ids, and the levels it sets (quantity 0 removes a level)."""

    symbol: str
    first_id: int
    final_id: int
    previous_final_id: int | None
    """USDⓈ-M's ``pu``; None on spot."""
    bids: tuple[tuple[float, float], ...]
    asks: tuple[tuple[float, float], ...]


Frame = Reply | Quote | Trade | DepthDiff


def parse_frame(text: str | bytes, received_us: int, symbols: frozenset[str]) -> Frame:
    """One text frame as received at ``received_us``; BadFrame (one line saying why) if it is not one.

    ``symbols`` are the engine's names of the symbols subscribed: a payload for
    another symbol is unexpected, so bad.
    """
    if isinstance(text, bytes):
        raise BadFrame("a binary frame (the streams send text)")
    try:
        message = json.loads(text)
    except ValueError:
        raise BadFrame(f"not JSON: {text[:60]!r}") from None
    if not isinstance(message, dict):
        raise BadFrame(f"not a JSON object: {text[:60]!r}")
    try:
        if "stream" in message and "data" in message:
            return _payload(str(message["stream"]), message["data"], received_us, symbols)
        if "id" in message and ("result" in message or "code" in message):
            error = None if "result" in message else f"code {message.get('code')}: {message.get('msg')}"
            return Reply(int(message["id"]), error)
    except BadFrame:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise BadFrame(f"malformed {str(message.get('stream', 'frame'))[:40]}: {type(exc).__name__} {exc}") from None
    raise BadFrame(f"unexpected frame: {text[:60]!r}")


def _payload(stream: str, data: Any, received_us: int, symbols: frozenset[str]) -> Frame:
    symbol = canonical_symbol(str(data["s"]))
    if symbol not in symbols:
        raise BadFrame(f"{stream}: symbol {symbol} was not subscribed")
    kind = stream.partition("@")[2]
    if kind == BOOK_TICKER:
        bid, bid_size, ask, ask_size = float(data["b"]), float(data["B"]), float(data["a"]), float(data["A"])
        if not (bid > 0.0 and ask > 0.0 and 0.0 <= bid_size < 1e15 and 0.0 <= ask_size < 1e15 and ask < 1e15):
            raise BadFrame(f"{stream}: prices must be > 0 and sizes >= 0")
        if bid >= ask:
            raise BadFrame(f"{stream}: crossed quote (bid {bid:g} >= ask {ask:g})")
        return Quote((received_us, QUOTE, symbol, bid, bid_size, ask, ask_size), int(data.get("T", 0)) * 1000)
    if kind == AGG_TRADE:
        price, size = float(data["p"]), float(data["q"])
        if not (0.0 < price < 1e15 and 0.0 <= size < 1e15):
            raise BadFrame(f"{stream}: price must be > 0 and quantity >= 0")
        side = "sell" if data["m"] is True else "buy"
        exchange_us = int(data["T"]) * 1000
        aggressor = -1.0 if side == "sell" else 1.0
        event = (received_us, TRADE, symbol, price, size, aggressor, float(received_us - exchange_us))
        return Trade(event, exchange_us, int(data["a"]), side)
    if kind.startswith("depth"):
        previous = data.get("pu")
        return DepthDiff(
            symbol,
            int(data["U"]),
            int(data["u"]),
            None if previous is None else int(previous),
            _levels(data["b"]),
            _levels(data["a"]),
        )
    raise BadFrame(f"unexpected stream {stream!r}")


def _levels(raw: Any) -> tuple[tuple[float, float], ...]:
    levels = tuple((float(price), float(quantity)) for price, quantity, *_ in raw)
    for price, quantity in levels:
        if not (0.0 < price < 1e15 and 0.0 <= quantity < 1e15):
            raise ValueError("depth levels need prices > 0 and quantities >= 0")
    return levels


def parse_snapshot(body: bytes) -> tuple[int, tuple[tuple[float, float], ...], tuple[tuple[float, float], ...]]:
    """A REST depth snapshot (``{"lastUpdateId": n, "bids": [[p, q]...], "asks": [...]}``); ValueError if not one."""
    try:
        message = json.loads(body)
        return int(message["lastUpdateId"]), _levels(message["bids"]), _levels(message["asks"])
    except (KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"not a depth snapshot: {type(exc).__name__} {exc}") from None


def subscribe_message(method: str, streams: list[str], request_id: int) -> str:
    """A SUBSCRIBE or UNSUBSCRIBE request: ``{"method": "SUBSCRIBE", "params": [...], "id": 1}``."""
    return json.dumps({"method": method, "params": streams, "id": request_id})
