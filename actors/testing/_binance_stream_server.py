"""A local server speaking Binance's public market-stream protocol, for tests of the live market (127.0.0.1 only).

It plays Binance's side as documented (spot: developers.binance.com/docs/binance-spot-api-docs/web-socket-streams;
USDⓈ-M: developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams; the payload shapes
are quoted in :mod:`actors.markets.live._protocol`):

- WebSocket at ``/stream?streams=a/b/c`` (combined: every payload wrapped as ``{"stream": .., "data": ..}``),
  ``/stream`` (combined, streams by SUBSCRIBE) and ``/ws/<stream>`` or ``/ws`` (raw payloads);
- the live methods ``{"method": "SUBSCRIBE" | "UNSUBSCRIBE", "params": [...], "id": n}`` answered
  ``{"result": null, "id": n}``, ``LIST_SUBSCRIPTIONS`` answered with the list; bad JSON or an unknown
  method answered with Binance's error shape ``{"code": 3 | 2, "msg": "...", "id": n}``;
- ping frames (every ``ping_interval_s`` as Binance does every 20 s, or on command: :meth:`ping`);
- REST depth snapshots at ``/api/v3/depth?symbol=BTCUSDT&limit=N`` (spot) or ``/fapi/v1/depth`` (USDⓈ-M):
  ``{"lastUpdateId": n, "bids": [["price", "qty"], ...], "asks": [...]}`` (USDⓈ-M adds ``E`` and ``T``),
  from a book the server keeps per symbol (:meth:`depth` moves it and sends the diff).

What it sends is scripted by the test (:meth:`book_ticker`, :meth:`agg_trade`, :meth:`depth`, :meth:`replay`;
:func:`generated` makes a deterministic sequence), and on command it fails as streams fail: :meth:`disconnect`
(TCP dropped, no close frame), :meth:`expire` (the 24-hour disconnect: a normal close), :meth:`silence`
(the market moves, nothing is sent), ``depth(..., skip=n)`` (update ids skipped: a gap), :meth:`send_raw`
(bad frames), :meth:`hold_snapshots` (the REST snapshot answers 503).

Every public method may be called from the test's thread: it runs on the server's own loop and returns once
the frames are written to the sockets.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

T = TypeVar("T")
HOST = "127.0.0.1"
SPOT_DEPTH_PATH, USDM_DEPTH_PATH = "/api/v3/depth", "/fapi/v1/depth"


@dataclass
class _Book:
    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    last_id: int = 1000


@dataclass
class _Connection:
    ws: ServerConnection
    combined: bool
    streams: set[str]


class BinanceStreamServer:
    """Binance's public streams on 127.0.0.1 (``futures``: USDⓈ-M's payloads and REST path); start, script, stop."""

    def __init__(
        self, *, futures: bool = False, ping_interval_s: float | None = None, clock_ms: Callable[[], int] | None = None
    ) -> None:
        self.futures = futures
        self.ping_interval_s = ping_interval_s
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._connections: list[_Connection] = []
        self._books: dict[str, _Book] = {}
        self._quote_ids: dict[str, int] = {}
        self._trade_ids: dict[str, int] = {}
        self._silent = False
        self._snapshots_held = False
        self.port = 0
        self.accepted = 0
        """WebSocket connections accepted so far."""
        self.requests: list[dict[str, Any]] = []
        """Every method request received (SUBSCRIBE...), in order."""
        self.snapshot_requests = 0
        self.pongs = 0

    # -- life -------------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket base URL (``ws://127.0.0.1:PORT``), for a client's ``ws_url`` setting."""
        return f"ws://{HOST}:{self.port}"

    @property
    def rest_url(self) -> str:
        """The REST base URL (``http://127.0.0.1:PORT``), for a client's ``rest_url`` setting."""
        return f"http://{HOST}:{self.port}"

    def start(self) -> BinanceStreamServer:
        """Listen on a free port of 127.0.0.1 in a thread of its own; returns once it listens."""
        self._thread = threading.Thread(target=self._thread_main, name="binance-stream-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30) or not self.port:
            raise RuntimeError("the Binance stream server did not start")
        return self

    def stop(self) -> None:
        """Close every connection and stop listening."""
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(30)

    def __enter__(self) -> BinanceStreamServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(
            self._handler,
            HOST,
            0,
            process_request=self._process_request,
            compression=None,
            ping_interval=self.ping_interval_s,
            ping_timeout=None,
        ) as server:
            self._server = server
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stopped.wait()

    def _call(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a coroutine on the server's loop from any thread; its result once done."""
        if self._loop is None:
            raise RuntimeError("the server is not started")
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(30)

    # -- the venue's side ------------------------------------------------------------------------------------------

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path, _, query = ws.request.path.partition("?")
        if path == "/stream":
            wanted = parse_qs(query).get("streams", [""])[0]
            connection = _Connection(ws, True, {s for s in wanted.split("/") if s})
        elif path == "/ws" or path.startswith("/ws/"):
            connection = _Connection(ws, False, {path[4:]} if len(path) > 4 else set())
        else:
            await ws.close(1008, "unknown path")
            return
        self.accepted += 1
        self._connections.append(connection)
        try:
            async for message in ws:
                await self._on_request(connection, message)
        except ConnectionClosed:
            pass
        finally:
            self._connections.remove(connection)

    async def _on_request(self, connection: _Connection, message: str | bytes) -> None:
        try:
            request = json.loads(message)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            await connection.ws.send(json.dumps({"code": 3, "msg": "Invalid JSON", "id": None}))
            return
        self.requests.append(request)
        method, params, request_id = request.get("method"), request.get("params", []), request.get("id")
        if method == "SUBSCRIBE":
            connection.streams.update(params)
            reply: dict[str, Any] = {"result": None, "id": request_id}
        elif method == "UNSUBSCRIBE":
            connection.streams.difference_update(params)
            reply = {"result": None, "id": request_id}
        elif method == "LIST_SUBSCRIPTIONS":
            reply = {"result": sorted(connection.streams), "id": request_id}
        else:
            reply = {"code": 2, "msg": f"Invalid request: unknown method {method!r}", "id": request_id}
        await connection.ws.send(json.dumps(reply))

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """REST depth snapshots on the same port; WebSocket handshakes go on."""
        path, _, query = request.path.partition("?")
        if path.startswith(("/stream", "/ws")):
            return None
        if path != (USDM_DEPTH_PATH if self.futures else SPOT_DEPTH_PATH):
            return _json_response(404, {"code": -1, "msg": f"no such endpoint {path}"})
        self.snapshot_requests += 1
        if self._snapshots_held:
            return _json_response(503, {"code": -1008, "msg": "Service Unavailable (held by the test)"})
        arguments = parse_qs(query)
        symbol = arguments.get("symbol", [""])[0]
        limit = int(arguments.get("limit", ["100"])[0])
        book = self._books.get(symbol)
        if book is None:
            return _json_response(400, {"code": -1121, "msg": "Invalid symbol."})
        body: dict[str, Any] = {"lastUpdateId": book.last_id}
        if self.futures:
            body["E"] = body["T"] = self._clock_ms()
        body["bids"] = sorted(([p, q] for p, q in book.bids.items()), key=lambda level: -float(level[0]))[:limit]
        body["asks"] = sorted(([p, q] for p, q in book.asks.items()), key=lambda level: float(level[0]))[:limit]
        return _json_response(200, body)

    async def _publish(self, stream: str, data: dict[str, Any]) -> int:
        """Send ``data`` to every connection subscribed to ``stream``; how many got it (none while silent)."""
        if self._silent:
            return 0
        sent = 0
        for connection in list(self._connections):
            if stream in connection.streams:
                frame = json.dumps({"stream": stream, "data": data} if connection.combined else data)
                try:
                    await connection.ws.send(frame)
                    sent += 1
                except ConnectionClosed:
                    pass
        return sent

    # -- what the test scripts --------------------------------------------------------------------------------------

    def publish(self, stream: str, data: dict[str, Any]) -> int:
        """Send one payload on ``stream`` (as it is: for replaying recorded messages); connections that got it."""
        return self._call(lambda: self._publish(stream, data))

    def replay(self, messages: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Send each (stream, payload) in order; payloads sent (counting each connection)."""

        async def send_all() -> int:
            return sum([await self._publish(stream, data) for stream, data in messages])

        return self._call(send_all)

    def book_ticker(self, symbol: str, bid: str, bid_qty: str, ask: str, ask_qty: str) -> dict[str, Any]:
        """Send a ``<symbol>@bookTicker`` payload (strings, as Binance sends them); the payload."""
        self._quote_ids[symbol] = self._quote_ids.get(symbol, 400900216) + 1
        data: dict[str, Any] = {
            "u": self._quote_ids[symbol],
            "s": symbol,
            "b": bid,
            "B": bid_qty,
            "a": ask,
            "A": ask_qty,
        }
        if self.futures:
            now = self._clock_ms()
            data = {
                "e": "bookTicker",
                "u": data["u"],
                "E": now,
                "T": now,
                "s": symbol,
                "b": bid,
                "B": bid_qty,
                "a": ask,
                "A": ask_qty,
            }
        self.publish(f"{symbol.lower()}@bookTicker", data)
        return data

    def agg_trade(self, symbol: str, price: str, qty: str, *, buyer_maker: bool = False) -> dict[str, Any]:
        """Send a ``<symbol>@aggTrade`` payload; the payload."""
        trade_id = self._trade_ids[symbol] = self._trade_ids.get(symbol, 26129) + 1
        now = self._clock_ms()
        data: dict[str, Any] = {
            "e": "aggTrade",
            "E": now,
            "s": symbol,
            "a": trade_id,
            "p": price,
            "q": qty,
            "f": trade_id * 2,
            "l": trade_id * 2 + 1,
            "T": now,
            "m": buyer_maker,
        }
        if not self.futures:
            data["M"] = True
        self.publish(f"{symbol.lower()}@aggTrade", data)
        return data

    def set_book(
        self, symbol: str, bids: Iterable[tuple[str, str]], asks: Iterable[tuple[str, str]], last_id: int = 1000
    ) -> None:
        """The book a snapshot of ``symbol`` gives (no diff is sent)."""
        book = _Book(dict(bids), dict(asks), last_id)

        async def put() -> None:
            self._books[symbol] = book

        self._call(put)

    def depth(
        self, symbol: str, bids: Iterable[tuple[str, str]] = (), asks: Iterable[tuple[str, str]] = (), *, skip: int = 0
    ) -> dict[str, Any]:
        """Move ``symbol``'s book (quantity "0" removes a level) and send the ``depthUpdate``; the payload.

        ``skip``: that many updates happen first and are not sent, so the client sees a gap in the ids.
        """
        bids, asks = list(bids), list(asks)

        async def move() -> dict[str, Any]:  # on the server's loop: a snapshot never sees a book half moved
            book = self._books.setdefault(symbol, _Book())
            for side, levels in ((book.bids, bids), (book.asks, asks)):
                for price, qty in levels:
                    if float(qty) == 0.0:
                        side.pop(price, None)
                    else:
                        side[price] = qty
            book.last_id += skip
            previous = book.last_id
            book.last_id += 1
            now = self._clock_ms()
            data: dict[str, Any] = {"e": "depthUpdate", "E": now, "s": symbol, "U": previous + 1, "u": book.last_id}
            if self.futures:
                data["T"] = now
                data["pu"] = previous
            data["b"] = [[p, q] for p, q in bids]
            data["a"] = [[p, q] for p, q in asks]
            await self._publish(f"{symbol.lower()}@depth@100ms", data)
            return data

        return self._call(move)

    # -- failures on command ----------------------------------------------------------------------------------------

    def disconnect(self) -> int:
        """Drop every connection's TCP at once, no close frame (a network failure); how many were dropped."""

        async def drop() -> int:
            connections = list(self._connections)
            for connection in connections:
                connection.ws.transport.abort()
            return len(connections)

        return self._call(drop)

    def expire(self) -> int:
        """Close every connection normally, as Binance does at a connection's 24-hour mark; how many."""

        async def close() -> int:
            connections = list(self._connections)
            for connection in connections:
                await connection.ws.close(1000, "connection older than 24 hours")
            return len(connections)

        return self._call(close)

    def silence(self, silent: bool = True) -> None:
        """While silent, payloads are not sent (the market moves on: ids advance, so depth shows a gap after)."""
        self._silent = silent

    def hold_snapshots(self, held: bool = True) -> None:
        """While held, depth snapshots answer 503: a book waiting for one stays stale."""
        self._snapshots_held = held

    def send_raw(self, frame: str | bytes) -> int:
        """Send ``frame`` as it is (text, or binary for bytes) to every connection: a bad frame; how many got it."""

        async def send() -> int:
            for connection in list(self._connections):
                await connection.ws.send(frame)
            return len(self._connections)

        return self._call(send)

    def ping(self) -> int:
        """Send a ping frame to every connection and wait for the pongs; how many answered."""

        async def ping_all() -> int:
            waiters = [await connection.ws.ping() for connection in list(self._connections)]
            answered = 0
            for waiter in waiters:
                try:
                    await asyncio.wait_for(waiter, 30)
                    answered += 1
                except (TimeoutError, ConnectionClosed):
                    pass
            self.pongs += answered
            return answered

        return self._call(ping_all)

    # -- what the test observes -------------------------------------------------------------------------------------

    def open_connections(self) -> int:
        """Connections open now."""
        return len(self._connections)

    def subscriptions(self) -> list[frozenset[str]]:
        """Each open connection's streams."""
        return [frozenset(connection.streams) for connection in self._connections]


def _json_response(status: int, body: Any) -> Response:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}.get(status, "Error")
    headers = Headers(
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("Connection", "close")]
    )
    return Response(status, reason, headers, payload)


def generated(
    symbols: Iterable[str], count: int, seed: int = 1, *, start_price: float = 100.0, futures: bool = False
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A deterministic stream of ``count`` bookTicker and aggTrade payloads over ``symbols`` (a random walk).

    About one in four is a trade, at the bid or the ask; prices have two decimals, sizes three.
    """
    rng = random.Random(seed)
    names = list(symbols)
    mids = dict.fromkeys(names, start_price)
    for number in range(count):
        symbol = names[rng.randrange(len(names))]
        mid = mids[symbol] = max(1.0, mids[symbol] + rng.choice((-0.01, 0.0, 0.01)))
        bid, ask = f"{mid - 0.01:.2f}", f"{mid + 0.01:.2f}"
        if rng.random() < 0.25:
            buyer_maker = rng.random() < 0.5
            data: dict[str, Any] = {
                "e": "aggTrade",
                "E": 1_700_000_000_000 + number,
                "s": symbol,
                "a": number,
                "p": bid if buyer_maker else ask,
                "q": f"{rng.randint(1, 5000) / 1000:.3f}",
                "f": number,
                "l": number,
                "T": 1_700_000_000_000 + number,
                "m": buyer_maker,
            }
            yield f"{symbol.lower()}@aggTrade", data
        else:
            data = {
                "u": number,
                "s": symbol,
                "b": bid,
                "B": f"{rng.randint(1, 9000) / 1000:.3f}",
                "a": ask,
                "A": f"{rng.randint(1, 9000) / 1000:.3f}",
            }
            if futures:
                data = {"e": "bookTicker", "E": 1_700_000_000_000 + number, "T": 1_700_000_000_000 + number, **data}
            yield f"{symbol.lower()}@bookTicker", data
