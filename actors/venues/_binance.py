"""Binance spot as a venue: :class:`BinanceSpotVenue` implements ``IExchangeClient`` over its REST API.

Each call is one or a few HTTP requests on a keep-alive connection of the
calling thread (the standard library's ``http.client``: docs/LIVE.md,
"Orders on a real venue: the client library", says why); the gateway makes
its calls from the threads of its venue worker (:mod:`actors.venues._worker`),
several at once, the budget and the backoff kept under one lock; and
fills come from the account's user data stream, read in a thread of the
adapter's own (``websockets``).  The rules (signing, the rate budget,
backoff, execution reports, states) are :mod:`actors.venues._binance_rules`.

What it promises:

- **Never placing twice.** A place whose answer was lost (the connection
  dropped after sending, a timeout, a 5xx) is settled by asking the venue for
  that client id, never by sending it again; if the venue cannot say yet, the
  call raises :class:`ExchangeTimeout` and the gateway's doubt path settles it.
- **Limits kept before sending** (:class:`Budget`): a request that would
  exceed a bucket waits up to ``max_wait_s``, else is dropped (an
  :class:`ExchangeError`: not sent); after a 429 or 418 nothing is sent until
  ``Retry-After`` has passed.
- **Each fill once**, by (symbol, trade id), whether the stream repeats it or
  a reconnect's catch-up (``GET /api/v3/myTrades``) reads it again.
- **Keys** come from the environment or a file only its owner may read
  (:class:`Credentials`); they are in no message, repr or log line.
- **The testnet by default**: a base URL that is neither the testnet, the
  demo environment nor this machine is refused unless ``allow_real``.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import stat
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from actors.core._exchange import (
    CancelOutcome,
    CancelResult,
    ExchangeError,
    ExchangeOrder,
    ExchangeTimeout,
    OrderStatus,
    PlaceRequest,
    PlaceResult,
)
from actors.core._types import Fill, Side
from actors.venues._binance_rules import (
    SPOT,
    ApiError,
    Backoff,
    Budget,
    Dialect,
    SpotSymbol,
    TradeDedup,
    cancel_outcome,
    classify_http,
    decimal_text,
    limits_from_exchange_info,
    signed_payload,
    status_of,
    to_lots,
    to_ticks,
)
from actors.venues._interface import FillListener

TESTNET_URL = "https://testnet.binance.vision"
TESTNET_STREAM_URL = "wss://stream.testnet.binance.vision"
_SAFE_HOSTS = ("testnet.binance.vision", "stream.testnet.binance.vision", "demo-api.binance.com",
               "demo-stream.binance.com", "127.0.0.1", "localhost")  # fmt: skip
KEY_VARIABLE, SECRET_VARIABLE = "BINANCE_API_KEY", "BINANCE_API_SECRET"


class CredentialsError(ValueError):
    """The keys could not be had safely (missing, or in a file others may read); the message never holds a key."""


class Credentials:
    """An API key and its secret, never shown: ``repr`` and ``str`` hide both."""

    __slots__ = ("_key", "_secret")

    def __init__(self, key: str, secret: str) -> None:
        if not key or not secret:
            raise CredentialsError("an API key and its secret are both needed")
        for what, text in (("API key", key), ("secret", secret)):
            if not (text.isascii() and text.isprintable()) or " " in text:  # an HTTP header cannot carry it
                raise CredentialsError(f"the {what} is not printable ASCII without spaces (a copy-paste error?)")
        self._key, self._secret = key, secret

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """From ``BINANCE_API_KEY`` and ``BINANCE_API_SECRET``."""
        env = os.environ if environ is None else environ
        missing = [name for name in (KEY_VARIABLE, SECRET_VARIABLE) if not env.get(name)]
        if missing:
            raise CredentialsError(f"{' and '.join(missing)} not set")
        return cls(env[KEY_VARIABLE], env[SECRET_VARIABLE])

    @classmethod
    def from_file(cls, path: Path) -> Credentials:
        """From a file of two lines (key, then secret) that only its owner may read or write."""
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise CredentialsError(f"{path}: others may read or write it (chmod 600 {path})")
            lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise CredentialsError(f"{path}: cannot read it ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise CredentialsError(f"{path}: not text; expected two lines, the API key then its secret") from None
        if len(lines) != 2:
            raise CredentialsError(f"{path}: expected two lines, the API key then its secret")
        return cls(lines[0], lines[1])

    @property
    def key(self) -> str:
        """The API key (sent as ``X-MBX-APIKEY``)."""
        return self._key

    def signed(self, params: Sequence[tuple[str, str]], now_ms: int) -> str:
        """``params`` signed with the secret (which never leaves this object)."""
        return signed_payload(params, self._secret, now_ms)

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    __str__ = __repr__


class VenueRefused(ExchangeError):
    """The venue refused the request (its error shape); it took no effect."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(f"HTTP {error.status}, code {error.code}: {error.msg}")
        self.error = error


@dataclass
class Counters:
    """What the adapter did, for the report and the metrics later."""

    requests: int = 0
    lost_answers: int = 0
    """Requests sent whose answer never came (settled by asking, never by sending again)."""
    resolved_by_status: int = 0
    used_weight: int = 0
    """The venue's ``X-MBX-USED-WEIGHT-1M`` as last answered."""
    stream_reconnects: int = 0
    listen_keys: int = 0


class BinanceSpotVenue:
    """Binance spot behind the venue interface (its testnet by default).

    What differs between Binance's APIs is the class's :class:`Dialect`
    (paths, weights, limits, the stream's order event, post-only): the USDⓈ-M
    adapter (:mod:`actors.venues._binance_usdm`) is this class with another.
    """

    dialect: Dialect = SPOT
    safe_hosts: tuple[str, ...] = _SAFE_HOSTS
    """Hosts that need no ``allow_real``: the testnet's, the demo's, this machine."""

    def __init__(
        self,
        symbols: Mapping[str, SpotSymbol],
        credentials: Credentials,
        *,
        base_url: str = TESTNET_URL,
        stream_url: str = TESTNET_STREAM_URL,
        allow_real: bool = False,
        post_only: bool = False,
        flat_balances: Mapping[str, str] | None = None,
        budget: Budget | None = None,
        max_wait_s: float = 1.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``flat_balances``: per asset, the balance that counts as a flat position (spot holds inventory)."""
        for url in (base_url, stream_url):
            host = urlsplit(url).hostname or ""
            if host not in self.safe_hosts and not allow_real:
                raise ValueError(f"{host} is not Binance's testnet or demo: a real venue needs allow_real")
        self.symbols = dict(symbols)
        self._credentials = credentials
        self._base = urlsplit(base_url)
        self._stream_url = stream_url.rstrip("/")
        self.post_only = post_only
        self._flat = {asset: Decimal(amount) for asset, amount in (flat_balances or {}).items()}
        self.budget = budget or Budget(limits=self.dialect.limits, dialect=self.dialect)
        if self.budget.dialect is None:
            self.budget.dialect = self.dialect  # a budget given (a shared store's) weighs by this venue's figures
        self.backoff = Backoff()
        self.counters = Counters()
        self._max_wait_s, self._timeout_s, self._clock = max_wait_s, timeout_s, clock
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._rate_lock = threading.Lock()
        """Held around the budget and the backoff: a venue worker calls from several threads at once."""
        self._symbol_of_client: dict[str, str] = {}
        self._symbol_of_order: dict[str, str] = {}
        self._client_of_order: dict[str, str] = {}
        self._dedup = TradeDedup()
        self._last_trade: dict[str, int] = {}
        self._unstreamed: list[Fill] = []
        self._listener: FillListener | None = None
        self._stream_thread: threading.Thread | None = None
        self._stream_loop: asyncio.AbstractEventLoop | None = None
        self._stream_stop: asyncio.Event | None = None
        self._stream_ready = threading.Event()
        """Set once the stream's loop can be told to stop (a close right after the start waits for it)."""
        self.stream_up = threading.Event()
        """Set while the user stream is connected (tests wait on it)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._base.scheme}://{self._base.netloc}, {sorted(self.symbols)})"

    # ------------------------------------------------------------ the venue interface

    def place(self, request: PlaceRequest) -> PlaceResult:
        """A limit order (LIMIT_MAKER when ``post_only``) under the engine's client id."""
        spec = self._spec(request.symbol)
        self._remember(request.client_id, None, request.symbol)
        params = [("symbol", spec.symbol), ("side", request.side.name)]
        params += self.dialect.post_only_params if self.post_only else self.dialect.limit_params
        if request.reduce_only and self.dialect.has_positions:
            params.append(("reduceOnly", "true"))
        params += [("quantity", decimal_text(request.qty_lots, spec.lot_size)),
                   ("price", decimal_text(request.price_ticks, spec.tick_size)),
                   ("newClientOrderId", request.client_id), ("newOrderRespType", "ACK")]  # fmt: skip
        try:
            answer = self._call("POST", self.dialect.order, params)
        except VenueRefused as refused:
            return PlaceResult(request.client_id, False, None, refused.error.msg or "rejected")
        except ExchangeTimeout:
            return self._settle_lost_place(request)
        order_id = str(answer["orderId"])
        self._remember(request.client_id, order_id, request.symbol)
        return PlaceResult(request.client_id, True, order_id)

    def _settle_lost_place(self, request: PlaceRequest) -> PlaceResult:
        """The place was sent and its answer lost: ask the venue for the client id; never send it again."""
        self.counters.lost_answers += 1
        try:
            status = self.order_status(request.client_id)
        except ExchangeError as exc:  # could not ask (backing off, the budget, the network): still in doubt, never
            # a refusal, for the venue may hold the order (the store's deadline asks again)
            lost = f"place {request.client_id}: answer lost and the venue could not be asked: {exc}"
            raise ExchangeTimeout(lost) from None
        if status.state == "unknown" or status.exchange_order_id is None:
            raise ExchangeTimeout(f"place {request.client_id}: answer lost and the venue has no such order yet")
        self.counters.resolved_by_status += 1
        if status.state == "rejected":
            return PlaceResult(request.client_id, False, None, "rejected")
        self._remember(request.client_id, status.exchange_order_id, request.symbol)
        return PlaceResult(request.client_id, True, status.exchange_order_id)

    def cancel(self, exchange_order_id: str) -> CancelResult:
        """Cancel by the venue's order id; a refusal is told apart by asking for the order."""
        symbol = self._symbol_of_order.get(exchange_order_id)
        if symbol is None:
            self.get_orders()  # learns the symbols of the open orders
            symbol = self._symbol_of_order.get(exchange_order_id)
        if symbol is None:
            return CancelResult(exchange_order_id, False, "unknown order", CancelOutcome.UNKNOWN_ORDER)
        try:
            self._call("DELETE", self.dialect.order, [("symbol", symbol), ("orderId", exchange_order_id)])
        except VenueRefused as refused:
            order = self._order(symbol, [("orderId", exchange_order_id)])
            outcome = cancel_outcome(refused.error, order)
            return CancelResult(exchange_order_id, False, outcome.value, outcome)
        return CancelResult(exchange_order_id, True, outcome=CancelOutcome.CANCELED)

    def cancel_all(self) -> list[ExchangeOrder]:
        """Every open order canceled, symbol by symbol (``DELETE`` the dialect's ``cancel_all``); the orders
        canceled (futures answer with a message, not the orders: those read before are given then)."""
        canceled: list[ExchangeOrder] = []
        open_orders = self.get_orders()
        for symbol in sorted({order.symbol for order in open_orders}):
            try:
                answer = self._call("DELETE", self.dialect.cancel_all, [("symbol", symbol)])
            except VenueRefused:
                continue  # -2011: nothing open there any more
            if isinstance(answer, list):
                canceled += [self._exchange_order(o, "canceled") for o in answer if isinstance(o, dict)]
            else:
                canceled += [replace(o, status="canceled") for o in open_orders if o.symbol == symbol]
        return canceled

    def get_orders(self) -> list[ExchangeOrder]:
        """Open orders of the configured symbols, in the order they were placed."""
        answer = self._call("GET", self.dialect.open_orders, [])
        rows = sorted((o for o in answer if o.get("symbol") in self.symbols), key=lambda o: (o["time"], o["orderId"]))
        return [self._exchange_order(o, "open") for o in rows]

    def get_positions(self) -> dict[str, int]:
        """Per symbol, its base asset's balance less the flat balance, in lots (zero ones omitted)."""
        answer = self._call("GET", "/api/v3/account", [])
        held = {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"]) for b in answer.get("balances", [])}
        positions = {}
        for name, spec in sorted(self.symbols.items()):
            lots = to_lots(str(held.get(spec.base, Decimal(0)) - self._flat.get(spec.base, Decimal(0))), spec.lot_size)
            if lots:
                positions[name] = lots
        return positions

    def order_status(self, client_id: str) -> OrderStatus:
        """The order placed under ``client_id`` (every configured symbol is asked if its symbol is not known)."""
        known = self._symbol_of_client.get(client_id)
        for symbol in [known] if known is not None else sorted(self.symbols):
            order = self._order(symbol, [("origClientOrderId", client_id)])
            if order is not None:
                self._remember(client_id, str(order["orderId"]), symbol)
                return status_of(client_id, order, self.symbols[symbol].lot_size)
        return OrderStatus(client_id, "unknown")

    def sizes(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Each configured symbol's (tick, lot) as the venue publishes them: ``exchangeInfo``'s ``PRICE_FILTER``
        ``tickSize`` and ``LOT_SIZE`` ``stepSize`` (a symbol the venue does not list is left out)."""
        names = json.dumps(sorted(self.symbols), separators=(",", ":"))
        answer = self._call("GET", self.dialect.exchange_info, [("symbols", names)], signed=False)
        found: dict[str, tuple[Decimal, Decimal]] = {}
        for entry in answer.get("symbols", []) if isinstance(answer, dict) else []:
            filters = {f.get("filterType"): f for f in entry.get("filters", [])}
            if entry.get("symbol") in self.symbols and "PRICE_FILTER" in filters and "LOT_SIZE" in filters:
                tick, lot = filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["stepSize"]
                found[entry["symbol"]] = (Decimal(tick).normalize(), Decimal(lot).normalize())
        return found

    def stream_fills(self) -> list[Fill]:
        """Fills the stream brought that were not pushed yet."""
        with self._lock:
            fills, self._unstreamed = self._unstreamed, []
        return fills

    def subscribe(self, listener: FillListener) -> None:
        """Push fills to ``listener`` from the stream's thread as they come; starts the stream."""
        self._listener = listener
        self.start_stream()

    # ------------------------------------------------------------ REST

    def _spec(self, symbol: str) -> SpotSymbol:
        spec = self.symbols.get(symbol)
        if spec is None:
            raise ExchangeError(f"{symbol} is not one of this venue's symbols")
        return spec

    def _remember(self, client_id: str, order_id: str | None, symbol: str) -> None:
        self._symbol_of_client[client_id] = symbol
        if order_id is not None:
            self._symbol_of_order[order_id] = symbol
            self._client_of_order[order_id] = client_id

    def _exchange_order(self, o: Mapping[str, Any], state: str) -> ExchangeOrder:
        spec = self.symbols[o["symbol"]]
        client_id = str(o.get("origClientOrderId") or o["clientOrderId"])
        order_id = str(o["orderId"])
        self._remember(client_id, order_id, spec.symbol)
        price, qty = to_ticks(o["price"], spec.tick_size), to_lots(o["origQty"], spec.lot_size)
        filled = to_lots(o["executedQty"], spec.lot_size)
        return ExchangeOrder(order_id, client_id, spec.symbol, Side[o["side"]], price, qty, filled, state)

    def _order(self, symbol: str, which: list[tuple[str, str]]) -> dict[str, Any] | None:
        """``GET`` one order; None if the venue has no such order (``-2013``)."""
        try:
            answer = self._call("GET", self.dialect.order, [("symbol", symbol), *which])
        except VenueRefused as refused:
            if refused.error.code == -2013:
                return None
            raise
        return dict(answer)

    def _call(self, method: str, path: str, params: list[tuple[str, str]], *, signed: bool = True) -> Any:
        """One request within the budget; the venue's answer, or :class:`VenueRefused`, :class:`ExchangeError`
        (not sent, or not carried out) or :class:`ExchangeTimeout` (sent, outcome unknown)."""
        now = self._clock()
        held = self.backoff.wait(now)
        if held > 0.0:
            self.budget.drop()
            raise ExchangeError(f"{method} {path}: not sent, the venue asked to back off for {held:.1f} s more")
        # A place never waits for the budget: its price is this tick's, and one sent later would quote a market that
        # has moved on (and, under a rate the budget cannot keep, places would queue without end behind it). It is
        # dropped, counted, and the next tick quotes again. Cancels and reads wait, up to max_wait_s in all.
        patience = 0.0 if method == "POST" and path == self.dialect.order else self._max_wait_s
        with self._rate_lock:
            wait = self.budget.try_take(method, path, dict(params), now)
        while wait > 0.0:
            if self._clock() + wait > now + patience:
                self.budget.drop()
                raise ExchangeError(f"{method} {path}: not sent, the rate budget needs {wait:.2f} s more")
            time.sleep(wait)
            with self._rate_lock:
                wait = self.budget.try_take(method, path, dict(params), self._clock())
        payload = self._credentials.signed(params, time.time_ns() // 1_000_000) if signed else urlencode(params)
        status, headers, body = self._send(method, path, payload)
        self.counters.requests += 1
        weight = headers.get("x-mbx-used-weight-1m")
        if weight is not None and weight.isdigit():
            self.counters.used_weight = int(weight)
        with self._rate_lock:
            if weight is not None and weight.isdigit():
                self.budget.correct(int(weight), self._clock())
            self.backoff.answered(status, headers.get("retry-after"), self._clock())
        try:
            answer = json.loads(body) if body else None
        except ValueError:
            answer = None
        problem = classify_http(status, answer)
        if isinstance(problem, ApiError):
            raise VenueRefused(problem)
        if problem is not None:
            raise problem
        return answer

    def _send(self, method: str, path: str, payload: str) -> tuple[int, dict[str, str], bytes]:
        """The request on this thread's keep-alive connection: (status, headers in lower case, body)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._base.scheme == "https" else http.client.HTTPConnection
            connection = kind(self._base.hostname or "", self._base.port, timeout=self._timeout_s)
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)  # every thread's, so that close() closes them all
        try:
            if connection.sock is None:
                connection.connect()
        except OSError as exc:
            connection.close()
            raise ExchangeError(f"{method} {path}: cannot connect ({type(exc).__name__})") from None
        headers = {"X-MBX-APIKEY": self._credentials.key}
        if method in ("POST", "PUT", "DELETE"):
            url, body = path, payload.encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            url, body = f"{path}?{payload}" if payload else path, b""
        try:
            connection.request(method, url, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ExchangeTimeout(f"{method} {path}: sent, no answer ({type(exc).__name__})") from None
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    # ------------------------------------------------------------ the user data stream

    def load_limits(self) -> None:
        """The account's own limits, read once from ``exchangeInfo``'s ``rateLimits`` (the documented ones stay
        if it gives none)."""
        limits = limits_from_exchange_info(self._call("GET", self.dialect.exchange_info, [], signed=False))
        if limits:
            self.budget.limits = limits

    def start(self) -> None:
        """Before the first order: the limits from ``exchangeInfo``, then the user stream."""
        self.load_limits()
        self.start_stream()

    def start_stream(self) -> None:
        """Read the account's user data stream in a thread of its own (once)."""
        if self._stream_thread is not None:
            return
        self._stream_thread = threading.Thread(target=self._stream_main, name="binance-user-stream", daemon=True)
        self._stream_thread.start()

    def close(self) -> None:
        """Stop the stream, close every thread's connection and the budget's file (a shared one stays for others)."""
        if self._stream_thread is not None:
            self._stream_ready.wait(30)
        loop, stop = self._stream_loop, self._stream_stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._stream_thread is not None:
            self._stream_thread.join(30)
            self._stream_thread = None
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        close_store = getattr(self.budget.store, "close", None)
        if callable(close_store):
            close_store()

    def _stream_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._stream_loop = loop
        try:
            loop.run_until_complete(self._stream())
        finally:
            loop.close()

    async def _stream(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        self._stream_stop = stop = asyncio.Event()
        self._stream_ready.set()
        delay, connected_before = 0.05, False
        while not stop.is_set():
            try:
                key = await asyncio.to_thread(self._listen_key)
                async with connect(f"{self._stream_url}/ws/{key}", compression=None, ping_interval=None) as ws:
                    if connected_before:
                        self.counters.stream_reconnects += 1
                        await asyncio.to_thread(self._catch_up)
                    connected_before, delay = True, 0.05
                    self.stream_up.set()
                    stopping = asyncio.ensure_future(stop.wait())
                    while not stop.is_set():
                        receiving = asyncio.ensure_future(ws.recv())
                        done, _ = await asyncio.wait({receiving, stopping}, timeout=1800.0,
                                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
                        if receiving not in done:
                            receiving.cancel()
                            if not stop.is_set():
                                await asyncio.to_thread(self._call, "PUT", self.dialect.listen_key,
                                                        [("listenKey", key)], signed=False)  # fmt: skip
                            continue
                        if self._on_event(receiving.result()):
                            break  # the listen key expired: a new one, a new connection
                    stopping.cancel()
            except (OSError, ConnectionClosed, InvalidHandshake, ExchangeError):
                pass
            self.stream_up.clear()
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 30.0)

    def _listen_key(self) -> str:
        self.counters.listen_keys += 1
        return str(self._call("POST", self.dialect.listen_key, [], signed=False)["listenKey"])

    def _on_event(self, frame: str | bytes) -> bool:
        """One stream frame; True if it says the listen key expired."""
        try:
            event = json.loads(frame)
        except ValueError:
            return False
        if not isinstance(event, dict):
            return False
        if event.get("e") == "listenKeyExpired":
            return True
        report = self.dialect.parse_event(event)
        if report is None or report.symbol not in self.symbols:
            return False
        self._remember(report.client_id, str(report.order_id), report.symbol)
        if report.execution == "TRADE":
            order_id, side = str(report.order_id), report.side
            self._add_fill(report.symbol, report.trade_id, order_id, report.client_id, side,
                           price=report.last_price, qty=report.last_qty)  # fmt: skip
        return False

    def _catch_up(self) -> None:
        """After a gap in the stream: the trades since the last one seen (``GET`` the dialect's ``trades``)."""
        for symbol in sorted(self.symbols):
            from_id = self._last_trade.get(symbol)
            params = [("symbol", symbol)] + ([("fromId", str(from_id + 1))] if from_id is not None else [])
            for trade in self._call("GET", self.dialect.trades, params):
                order_id = str(trade["orderId"])
                client_id = self._client_of_order.get(order_id)
                if client_id is None:
                    order = self._order(symbol, [("orderId", order_id)])
                    client_id = str(order["clientOrderId"]) if order is not None else ""
                side = Side.BUY if trade.get("isBuyer", trade.get("buyer")) else Side.SELL  # spot's, futures' name
                price, qty = trade["price"], trade["qty"]
                self._add_fill(symbol, int(trade["id"]), order_id, client_id, side, price=price, qty=qty)

    def _add_fill(
        self, symbol: str, trade_id: int, order_id: str, client_id: str, side: Side, *, price: str, qty: str
    ) -> None:
        with self._lock:
            if not self._dedup.first(symbol, trade_id):
                return
            self._last_trade[symbol] = max(trade_id, self._last_trade.get(symbol, trade_id))
            spec = self.symbols[symbol]
            fill = Fill(f"{symbol}-{trade_id}", order_id, client_id, symbol, side, to_ticks(price, spec.tick_size),
                        to_lots(qty, spec.lot_size), 0)  # fmt: skip
            listener = self._listener
            if listener is None:
                self._unstreamed.append(fill)
        if listener is not None:
            listener([fill])

    @property
    def duplicates(self) -> int:
        """Trades received again (the stream repeating itself, or a catch-up reading what it had sent)."""
        return self._dedup.duplicates
