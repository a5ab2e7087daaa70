"""A local server speaking Binance spot's order API and user data stream, the simulated venue behind it (127.0.0.1).

The REST subset (developers.binance.com/docs/binance-spot-api-docs/rest-api), on one port, HTTP/1.1 with
keep-alive (the standard library's threading server):

- ``POST /api/v3/order`` (LIMIT GTC, LIMIT_MAKER; ``newClientOrderId``), ``DELETE /api/v3/order``
  (``orderId`` or ``origClientOrderId``), ``GET /api/v3/order`` (either id; ``-2013`` if unknown);
- ``DELETE /api/v3/openOrders`` and ``GET /api/v3/openOrders`` (one symbol, or every symbol for the GET);
- ``GET /api/v3/account`` (balances), ``GET /api/v3/myTrades`` (``symbol``, ``fromId``);
- ``POST``/``PUT``/``DELETE /api/v3/userDataStream``: the listen key (API key only, no signature);
- ``GET /api/v3/exchangeInfo``: ``rateLimits`` (the limits a client reads at start) and each symbol's
  ``PRICE_FILTER`` and ``LOT_SIZE`` (the sizes a run checks at start); no signature.

Written against a :class:`~actors.venues._binance_rules.Dialect`: the USDⓈ-M server
(:mod:`actors.testing._binance_usdm_server`) is this one with the futures dialect and its answers' shapes.

Every signed request is checked as Binance documents it: the ``X-MBX-APIKEY`` header, ``signature`` the
HMAC-SHA256 of the query string followed by the body (the ``signature`` parameter taken out), and
``timestamp`` within ``recvWindow`` of the server's clock.  Every answer carries ``X-MBX-USED-WEIGHT-1M``
(order answers ``X-MBX-ORDER-COUNT-10S`` too), errors Binance's shape ``{"code": .., "msg": ..}``.

The user data stream is a WebSocket on a second port (as Binance's is on another host), at ``/ws/<listenKey>``:
``executionReport`` events for every NEW, CANCELED and TRADE, sent before the REST answer of the request that
caused them, as Binance may.

On command it fails as a venue does: :meth:`throttle` (429 or 418 with ``Retry-After`` for the next requests),
:meth:`lose_answers` (the request is carried out and the connection dropped before the answer),
:meth:`hold_reports` / :meth:`release_reports` (late reports), ``duplicate_reports`` (each sent twice),
:meth:`drop_stream` (the stream's TCP dropped, no close frame), :meth:`expire_listen_key` (``listenKeyExpired``
and the stream closed; the key is refused from then on).

The market is the test's: :meth:`advance` moves the simulated venue (its fill model decides what trades) and
:meth:`fill` trades what remains of one order.  Nothing here listens on anything but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from actors.core._exchange import PlaceRequest
from actors.core._types import Fill, Side
from actors.venues._binance_rules import SPOT, Dialect, Limit, SpotSymbol, decimal_text, sign, to_lots, to_ticks
from actors.venues._simulated import FakeExchangeClient

HOST = "127.0.0.1"
_INTERVALS = {1.0: ("SECOND", 1), 10.0: ("SECOND", 10), 60.0: ("MINUTE", 1), 86400.0: ("DAY", 1)}


@dataclass
class _Order:
    """An order as the server answers for it (Binance's fields), kept in step with the simulated venue."""

    order_id: int
    venue_id: str
    client_id: str
    symbol: str
    side: Side
    price: str
    qty: str
    kind: str
    time_ms: int
    status: str = "NEW"
    executed_lots: int = 0
    quote_filled: Decimal = Decimal(0)
    time_in_force: str = "GTC"
    reduce_only: bool = False

    def body(self, spec: SpotSymbol) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": self.price,
            "origQty": self.qty,
            "executedQty": decimal_text(self.executed_lots, spec.lot_size),
            "cummulativeQuoteQty": format(self.quote_filled.normalize(), "f"),
            "status": self.status,
            "timeInForce": "GTC",
            "type": self.kind,
            "side": self.side.name,
            "time": self.time_ms,
            "updateTime": self.time_ms,
            "isWorking": True,
            "workingTime": self.time_ms,
            "selfTradePreventionMode": "NONE",
        }


class _Listener(ThreadingHTTPServer):
    """The REST listener: a backlog for a client's many connections opened at once (5 by default: a SYN dropped
    past it is sent again a second later)."""

    request_queue_size = 128


class BinanceVenueServer:
    """Binance spot's order API on 127.0.0.1 with ``venue`` behind it; start, drive, fail on command, stop."""

    dialect: Dialect = SPOT
    duplicate_refusal = (-2010, "Duplicate order sent.")
    """The refusal of a client id already open."""

    def __init__(
        self,
        venue: FakeExchangeClient,
        symbols: Mapping[str, SpotSymbol],
        *,
        api_key: str,
        secret: str,
        balances: Mapping[str, str] | None = None,
        clock_ms: Callable[[], int] | None = None,
        rate_limits: tuple[Limit, ...] | None = None,
    ) -> None:
        """``rate_limits``: what ``exchangeInfo`` says (the dialect's documented limits by default)."""
        self.venue = venue
        self.rate_limits = self.dialect.limits if rate_limits is None else rate_limits
        self.positions: dict[str, int] = {}
        """Signed lots per symbol from every fill."""
        self.symbols = dict(symbols)
        self.api_key = api_key
        self._secret = secret
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._balances = {asset: Decimal(amount) for asset, amount in (balances or {}).items()}
        self._lock = threading.RLock()
        self._orders: dict[int, _Order] = {}
        self._by_venue_id: dict[str, _Order] = {}
        self._by_client_id: dict[tuple[str, str], _Order] = {}
        self._trades: dict[str, list[dict[str, Any]]] = {}
        self._next_order_id = 1000
        self._next_trade_id = {name: 5000 for name in self.symbols}
        self._listen_keys: set[str] = set()
        self._streams: list[ServerConnection] = []
        self._held: list[dict[str, Any]] | None = None
        self._throttle: tuple[int, int, str] | None = None
        self._lose: dict[str, int] = {}
        self._weight_minute = -1
        self._weight_used = 0
        self.duplicate_reports = False
        """Send every execution report twice (a stream that repeats itself)."""
        self.answer_delay_s = 0.0
        """Each REST answer leaves this long after its request was carried out (a venue that far away)."""
        self.requests: list[tuple[str, str]] = []
        """Every REST request received: (method, path), in order."""
        self.answers_lost = 0
        self.throttled = 0
        self.reports_sent = 0
        self.stream_connections = 0
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_thread: threading.Thread | None = None
        self._ws_server: Server | None = None
        self._ws_ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.ws_port = 0
        venue.subscribe(self._on_fills)

    # -- life -------------------------------------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        """The REST base URL, for a client's base URL."""
        assert self._http is not None
        return f"http://{HOST}:{self._http.server_address[1]}"

    @property
    def stream_url(self) -> str:
        """The user stream's base URL (the client adds ``/ws/<listenKey>``)."""
        return f"ws://{HOST}:{self.ws_port}"

    def start(self) -> BinanceVenueServer:
        """Listen on two free ports of 127.0.0.1, each in a thread of its own; returns once both listen."""
        server = self

        class Handler(_Handler):
            owner = server

        self._http = _Listener((HOST, 0), Handler)
        self._http.daemon_threads = True
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="binance-venue-rest", daemon=True)
        self._http_thread.start()
        self._ws_thread = threading.Thread(target=self._ws_main, name="binance-venue-stream", daemon=True)
        self._ws_thread.start()
        if not self._ws_ready.wait(30) or not self.ws_port:
            raise RuntimeError("the Binance venue server's stream did not start")
        return self

    def stop(self) -> None:
        """Stop both listeners and close every connection."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopped.set)
        if self._ws_thread is not None:
            self._ws_thread.join(30)

    def __enter__(self) -> BinanceVenueServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _ws_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._ws_serve())
        finally:
            self._ws_ready.set()
            loop.close()

    async def _ws_serve(self) -> None:
        self._stopped = asyncio.Event()
        async with serve(self._stream_handler, HOST, 0, compression=None, ping_interval=None) as server:
            self._ws_server = server
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ws_ready.set()
            await self._stopped.wait()

    async def _stream_handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        key = ws.request.path.removeprefix("/ws/")
        # No lock here: this runs on the stream's loop, and a thread holding the lock may be waiting for that loop
        # to send a report (a deadlock until its 30 s timeout).  Reading the set is atomic.
        known = key in self._listen_keys
        if not known:
            await ws.close(1008, "invalid listen key")
            return
        self._streams.append(ws)
        self.stream_connections += 1
        try:
            async for _ in ws:
                pass
        except ConnectionClosed:
            pass
        finally:
            if ws in self._streams:
                self._streams.remove(ws)

    def _on_loop(self, make: Callable[[], Any]) -> Any:
        if self._loop is None:
            raise RuntimeError("the server is not started")
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(30)

    # -- the market -------------------------------------------------------------------------------------------------

    def advance(self, tick: int) -> None:
        """Move the simulated venue to ``tick``: what its fill model trades is reported on the stream."""
        with self._lock:
            self.venue.advance(tick)

    def fill(self, client_id: str, symbol: str) -> bool:
        """Trade what remains of the order placed under ``client_id`` now; False if it is not open."""
        with self._lock:
            order = self._by_client_id.get((symbol, client_id))
            return order is not None and self.venue.fill_now(order.venue_id)

    def open_orders(self) -> list[str]:
        """Client ids of the orders open at the venue, in the order they were placed."""
        with self._lock:
            return [o.client_id for o in self.venue.get_orders()]

    def trade_count(self) -> int:
        """Trades the venue made (each once, however often its report was sent)."""
        with self._lock:
            return sum(len(trades) for trades in self._trades.values())

    # -- failures on command ----------------------------------------------------------------------------------------

    def throttle(self, status: int, retry_after: int, count: int = 1) -> None:
        """Answer the next ``count`` requests ``status`` (429 or 418) with ``Retry-After: retry_after``."""
        with self._lock:
            self._throttle = (status, count, str(retry_after))

    def lose_answers(self, method: str, path: str, count: int = 1) -> None:
        """Carry out the next ``count`` ``method path`` requests, then drop the connection before answering."""
        with self._lock:
            self._lose[f"{method} {path}"] = count

    def hold_reports(self) -> None:
        """Keep execution reports back until :meth:`release_reports` (a late stream)."""
        with self._lock:
            self._held = []

    def release_reports(self) -> int:
        """Send the held reports, in order; how many."""
        with self._lock:
            held, self._held = self._held or [], None
            self._send(held)
            return len(held)

    def drop_stream(self) -> int:
        """Drop every user-stream connection's TCP, no close frame; how many were dropped."""

        async def drop() -> int:
            dropped = 0
            for ws in list(self._streams):
                transport = ws.transport
                if transport is not None:
                    transport.abort()
                    dropped += 1
            return dropped

        return int(self._on_loop(drop))

    def expire_listen_key(self) -> int:
        """Every listen key expires: ``listenKeyExpired`` is sent, the streams closed, the keys refused."""
        with self._lock:
            keys, self._listen_keys = self._listen_keys, set()

        async def expire() -> int:
            closed = 0
            for ws in list(self._streams):
                key = ws.request.path.removeprefix("/ws/") if ws.request is not None else ""
                if key in keys:
                    event = {"e": "listenKeyExpired", "E": self._clock_ms(), "listenKey": key}
                    try:
                        await ws.send(json.dumps(event))
                        await ws.close(1000, "listen key expired")
                    except ConnectionClosed:
                        pass
                    closed += 1
            return closed

        return int(self._on_loop(expire))

    def use_weight(self, units: int) -> None:
        """Someone else on this IP used ``units`` of this minute's weight (every answer's header counts it)."""
        with self._lock:
            self._weigh("GET", "", {})
            self._weight_used += units - 1

    def streams_open(self) -> int:
        """User-stream connections open now."""
        return len(self._streams)

    # -- the user data stream ---------------------------------------------------------------------------------------

    def _report(self, order: _Order, execution: str, **extra: Any) -> dict[str, Any]:
        return {
            "e": "executionReport",
            "E": self._clock_ms(),
            "s": order.symbol,
            "c": order.client_id,
            "S": order.side.name,
            "o": order.kind,
            "f": "GTC",
            "q": order.qty,
            "p": order.price,
            "x": execution,
            "X": order.status,
            "r": "NONE",
            "i": order.order_id,
            "l": extra.get("l", "0"),
            "z": decimal_text(order.executed_lots, self.symbols[order.symbol].lot_size),
            "L": extra.get("L", "0"),
            "n": "0",
            "N": None,
            "T": self._clock_ms(),
            "t": extra.get("t", -1),
            "w": order.status in ("NEW", "PARTIALLY_FILLED"),
            "m": True,
            "O": order.time_ms,
            "C": extra.get("C", ""),
        }

    def _send(self, events: list[dict[str, Any]]) -> None:
        """Send ``events`` to every stream (twice each with ``duplicate_reports``), or hold them."""
        if not events:
            return
        if self._held is not None:
            self._held.extend(events)
            return
        frames = [json.dumps(event) for event in events for _ in range(2 if self.duplicate_reports else 1)]

        async def send_all() -> None:
            for ws in list(self._streams):
                for frame in frames:
                    try:
                        await ws.send(frame)
                    except ConnectionClosed:
                        break

        self._on_loop(send_all)
        self.reports_sent += len(frames)

    def _on_fills(self, fills: list[Fill]) -> None:
        """The simulated venue traded (under the lock: :meth:`advance`, :meth:`fill`)."""
        events = []
        for fill in fills:
            order = self._by_venue_id.get(fill.exchange_order_id)
            if order is None:
                continue
            spec = self.symbols[order.symbol]
            qty = spec.lot_size * fill.qty_lots
            price = spec.tick_size * fill.price_ticks
            order.executed_lots += fill.qty_lots
            order.quote_filled += qty * price
            if order.status != "CANCELED":
                order.status = (
                    "FILLED" if decimal_text(order.executed_lots, spec.lot_size) == order.qty else ("PARTIALLY_FILLED")
                )
            self.positions[order.symbol] = self.positions.get(order.symbol, 0) + fill.qty_lots * int(fill.side)
            self._balances[spec.base] = self._balances.get(spec.base, Decimal(0)) + qty * int(fill.side)
            self._balances[spec.quote] = self._balances.get(spec.quote, Decimal(0)) - qty * price * int(fill.side)
            trade_id = self._next_trade_id[order.symbol] = self._next_trade_id[order.symbol] + 1
            text_qty, text_price = format(qty.normalize(), "f"), format(price.normalize(), "f")
            self._trades.setdefault(order.symbol, []).append(self._trade_row(order, fill.side, trade_id, qty, price))
            events.append(self._report(order, "TRADE", l=text_qty, L=text_price, t=trade_id))
        self._send(events)

    def _trade_row(self, order: _Order, side: Side, trade_id: int, qty: Decimal, price: Decimal) -> dict[str, Any]:
        """One row of the account's trades (spot's ``myTrades``)."""
        return {
            "symbol": order.symbol, "id": trade_id, "orderId": order.order_id, "orderListId": -1,
            "price": format(price.normalize(), "f"), "qty": format(qty.normalize(), "f"),
            "quoteQty": format((qty * price).normalize(), "f"), "commission": "0",
            "commissionAsset": self.symbols[order.symbol].quote, "time": self._clock_ms(),
            "isBuyer": side is Side.BUY, "isMaker": True, "isBestMatch": True,
        }  # fmt: skip

    def _order_body(self, order: _Order) -> dict[str, Any]:
        """An order as the order endpoints answer it."""
        return order.body(self.symbols[order.symbol])

    # -- REST -------------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: str, *, headers: Mapping[str, str]) -> _Answer:
        """One REST request: checked, carried out against the venue, answered (or lost, on command)."""
        with self._lock:
            self.requests.append((method, path))
            params = dict(parse_qsl(query + ("&" if query and body else "") + body, keep_blank_values=True))
            extra_headers = self._weigh(method, path, params)
            if self._throttle is not None:
                status, count, retry_after = self._throttle
                self._throttle = (status, count - 1, retry_after) if count > 1 else None
                self.throttled += 1
                msg = (
                    "Too many requests; please use the websocket for live updates."
                    if status == 429
                    else ("Way too many requests; IP banned.")
                )
                return _Answer(status, {"code": -1003, "msg": msg}, {**extra_headers, "Retry-After": retry_after})
            refusal = self._check(method, path, query, body, params=params, headers=headers)
            if refusal is not None:
                return _Answer(refusal[0], refusal[1], extra_headers)
            status, answer = self._route(method, path, params)
            lose = self._lose.get(f"{method} {path}", 0)
            if lose:
                self._lose[f"{method} {path}"] = lose - 1
                self.answers_lost += 1
                return _Answer(0, None, {})
            if path == self.dialect.order and method == "POST":
                extra_headers["X-MBX-ORDER-COUNT-10S"] = str(len(self._orders))
            return _Answer(status, answer, extra_headers)

    def _weigh(self, method: str, path: str, params: Mapping[str, str]) -> dict[str, str]:
        minute = self._clock_ms() // 60_000
        if minute != self._weight_minute:
            self._weight_minute, self._weight_used = minute, 0
        self._weight_used += self.dialect.weight(method, path, params)
        return {"X-MBX-USED-WEIGHT-1M": str(self._weight_used)}

    def _check(
        self, method: str, path: str, query: str, body: str, *, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]] | None:
        """Binance's refusals of a request before it is carried out: the key, the signature, the time."""
        if headers.get("x-mbx-apikey") != self.api_key:
            return 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        if path not in self.dialect.signed_paths:
            return None
        total = query + body
        signature = params.get("signature")
        unsigned = total.replace(f"&signature={signature}", "", 1) if signature is not None else total
        if signature is None or total.count("signature=") != 1 or not total.endswith(f"signature={signature}"):
            return 400, {"code": -1022, "msg": "Signature for this request is not valid."}
        if sign(self._secret, unsigned).lower() != signature.lower():
            return 400, {"code": -1022, "msg": "Signature for this request is not valid."}
        try:
            stamp, window = int(params["timestamp"]), int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            return 400, {"code": -1102, "msg": "Mandatory parameter 'timestamp' was not sent."}
        now = self._clock_ms()
        if not (stamp - 1000 <= now < stamp + window):
            return 400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
        return None

    def _route(self, method: str, path: str, params: Mapping[str, str]) -> tuple[int, Any]:
        dialect = self.dialect
        if path == dialect.listen_key:
            return self._listen_key(method, params)
        if path == dialect.exchange_info and method == "GET":
            return 200, self._exchange_info()
        symbol = params.get("symbol", "")
        if symbol and symbol not in self.symbols:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        if path == dialect.order:
            if not symbol:
                return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}
            if method == "POST":
                return self._place(symbol, params)
            order = self._find(symbol, params)
            if method == "DELETE":
                return self._cancel(order, params)
            if order is None:
                return 400, {"code": -2013, "msg": "Order does not exist."}
            return 200, self._order_body(order)
        if path in (dialect.open_orders, dialect.cancel_all):
            mine = self._open(symbol)
            if method == "GET" and path == dialect.open_orders:
                return 200, [self._order_body(o) for o in mine]
            if method == "DELETE" and path == dialect.cancel_all:
                if not symbol:
                    return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}
                return self._cancel_all(mine)
        if path == dialect.account:
            return 200, self._account()
        if dialect.countdown is not None and path == dialect.countdown and method == "POST":
            return self._countdown(symbol, params)
        if path == dialect.trades:
            from_id = int(params.get("fromId", "0"))
            return 200, [t for t in self._trades.get(symbol, []) if t["id"] >= from_id][
                : int(params.get("limit", "500"))
            ]
        return 404, {"code": -1, "msg": f"no such endpoint {method} {path}"}

    def _open(self, symbol: str) -> list[_Order]:
        """The orders open at the simulated venue (of ``symbol``, or all), in the order they were placed."""
        open_ids = {o.exchange_order_id for o in self.venue.get_orders()}
        return [o for o in self._orders.values() if o.venue_id in open_ids and (not symbol or o.symbol == symbol)]

    def _cancel_all(self, mine: list[_Order]) -> tuple[int, Any]:
        """Spot's ``DELETE openOrders``: the orders canceled (``-2011`` if none was open)."""
        if not mine:
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        return 200, [self._cancel(o, {})[1] for o in mine]

    def _account(self) -> Any:
        """Spot's ``GET account``: the balances."""
        return {"accountType": "SPOT", "canTrade": True, "balances": [
            {"asset": asset, "free": format(amount.normalize(), "f"), "locked": "0"}
            for asset, amount in sorted(self._balances.items())]}  # fmt: skip

    def _countdown(self, symbol: str, params: Mapping[str, str]) -> tuple[int, Any]:
        """Cancel-on-disconnect: spot has none."""
        return 404, {"code": -1, "msg": "no such endpoint"}

    def _exchange_info(self) -> dict[str, Any]:
        """``exchangeInfo``: the rate limits and each symbol's tick and lot."""
        limits = []
        for limit in self.rate_limits:
            interval, count = _INTERVALS.get(limit.seconds, ("SECOND", int(limit.seconds)))
            limits.append({"rateLimitType": limit.kind, "interval": interval, "intervalNum": count,
                           "limit": limit.limit})  # fmt: skip
        return {"timezone": "UTC", "serverTime": self._clock_ms(), "rateLimits": limits, "exchangeFilters": [],
                "symbols": [{"symbol": name, "status": "TRADING", "baseAsset": spec.base, "quoteAsset": spec.quote,
                             "filters": [{"filterType": "PRICE_FILTER", "tickSize": format(spec.tick_size, "f")},
                                         {"filterType": "LOT_SIZE", "stepSize": format(spec.lot_size, "f")}]}
                            for name, spec in sorted(self.symbols.items())]}  # fmt: skip

    def _listen_key(self, method: str, params: Mapping[str, str]) -> tuple[int, Any]:
        if method == "POST":
            key = secrets.token_hex(32)
            self._listen_keys.add(key)
            return 200, {"listenKey": key}
        if params.get("listenKey") not in self._listen_keys:
            return 400, {"code": -1125, "msg": "This listenKey does not exist."}
        if method == "DELETE":
            self._listen_keys.discard(params["listenKey"])
        return 200, {}

    def _find(self, symbol: str, params: Mapping[str, str]) -> _Order | None:
        if "orderId" in params:
            try:
                order = self._orders.get(int(params["orderId"]))
            except ValueError:
                return None
            return order if order is not None and order.symbol == symbol else None
        return self._by_client_id.get((symbol, params.get("origClientOrderId", "")))

    def _place(self, symbol: str, params: Mapping[str, str]) -> tuple[int, Any]:
        spec = self.symbols[symbol]
        kind = params.get("type", "")
        refused = self._refuse_place(symbol, params)
        if refused is not None:
            return refused
        client_id = params.get("newClientOrderId") or f"srv{self._next_order_id}"
        if (symbol, client_id) in self._by_client_id and self._by_client_id[(symbol, client_id)].status in (
            "NEW",
            "PARTIALLY_FILLED",
        ):
            code, msg = self.duplicate_refusal
            return 400, {"code": code, "msg": msg}
        try:
            side = Side[params["side"]]
            price_ticks = to_ticks(params["price"], spec.tick_size)
            qty_lots = to_lots(params["quantity"], spec.lot_size)
        except (KeyError, ArithmeticError):
            return 400, {"code": -1102, "msg": "Mandatory parameter was not sent, was empty/null, or malformed."}
        result = self.venue.place(PlaceRequest(client_id, symbol, side, price_ticks, qty_lots))
        if not result.accepted or result.exchange_order_id is None:
            return 400, {"code": -2010, "msg": result.reason or "Account has insufficient balance."}
        self._next_order_id += 1
        order = _Order(self._next_order_id, result.exchange_order_id, client_id, symbol, side,
                       decimal_text(price_ticks, spec.tick_size), decimal_text(qty_lots, spec.lot_size), kind,
                       self._clock_ms())  # fmt: skip
        order.time_in_force = params.get("timeInForce", "GTC")
        order.reduce_only = params.get("reduceOnly") == "true"
        self._orders[order.order_id] = order
        self._by_venue_id[order.venue_id] = order
        self._by_client_id[(symbol, client_id)] = order
        self._send([self._report(order, "NEW")])
        return 200, self._placed(order)

    def _refuse_place(self, symbol: str, params: Mapping[str, str]) -> tuple[int, Any] | None:
        """Spot's refusal of an order type it does not take here (LIMIT GTC and LIMIT_MAKER only)."""
        if params.get("type", "") not in ("LIMIT", "LIMIT_MAKER"):
            return 400, {"code": -1116, "msg": "Invalid orderType."}
        return None

    def _placed(self, order: _Order) -> dict[str, Any]:
        """The answer to an accepted place."""
        answer = self._order_body(order)
        answer["transactTime"] = order.time_ms
        answer["fills"] = []
        return answer

    def _cancel(self, order: _Order | None, params: Mapping[str, str]) -> tuple[int, Any]:
        if order is None:
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        result = self.venue.cancel(order.venue_id)
        if not result.ok:
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        order.status = "CANCELED"
        cancel_id = params.get("newClientOrderId") or f"cancel{order.order_id}"
        report = self._report(order, "CANCELED", C=order.client_id)
        report["c"] = cancel_id
        self._send([report])
        answer = self._order_body(order)
        answer["origClientOrderId"] = order.client_id
        answer["clientOrderId"] = cancel_id
        return 200, answer


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    """0: no answer (the connection is dropped)."""
    body: Any
    headers: Mapping[str, str]


class _Handler(BaseHTTPRequestHandler):
    """The standard library's HTTP/1.1 handler in front of :meth:`BinanceVenueServer.handle`."""

    owner: BinanceVenueServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go as two writes: with Nagle, a keep-alive client waits 40 ms

    def log_message(self, format: str, *args: Any) -> None:  # the base class's names
        """Quiet: the tests read the server's counters, not its log."""

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.owner.handle(self.command, path, query, body, headers=headers)
        if self.owner.answer_delay_s > 0.0:
            time.sleep(self.owner.answer_delay_s)  # the way back from a venue that far away, outside the lock
        if answer.status == 0:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - the names the base class dispatches to
