"""Binance's rules for an order client, pure: signing, the rate budget, backoff, execution reports, states.

Spot and USDⓈ-M futures share them; what differs (paths, weights, limits, the
stream's order event, post-only) is each one's :class:`Dialect`
(:data:`SPOT` and :data:`USDM`), so the adapter and the local server are
written once.

Nothing here does I/O or reads a clock: each call is given the time it
needs (``now`` in seconds, ``now_ms`` in ms), so every rule is tested
without a network or a sleep.  :mod:`actors.venues._binance` does the I/O.

What Binance documents, and what each part follows
(developers.binance.com/docs/binance-spot-api-docs/rest-api):

- **Signing** ("SIGNED endpoint security"): ``signature`` is the hex HMAC-SHA256 of *totalParams*, the query
  string concatenated with the request body, keyed by the secret; it comes last; ``timestamp`` (ms) is
  required and ``recvWindow`` optional.  :func:`sign` is checked against Binance's own published example
  (tests/unit/test_binance_rules.py).
- **Limits** ("Limits"; each account's current figures are ``rateLimits`` of ``GET /api/v3/exchangeInfo``):
  ``REQUEST_WEIGHT`` per minute (per IP), ``ORDERS`` per 10 s and per day (per account; a new order counts one,
  a cancel none).  :class:`Budget` keeps them before sending, as token buckets kept behind
  :class:`BucketStore`, so that several processes of one account may share them later.  Cancels are never
  starved by places: places may use a bucket only up to ``1 - cancel_reserve`` of its limit.
- **429 and 418**: a 429 says back off (``Retry-After``, in seconds); going on after 429s brings an IP ban, 418,
  whose ``Retry-After`` says how long.  :class:`Backoff` holds every request until then.
- **HTTP 5xx**: "the execution status is UNKNOWN and could have been a success": :class:`ExchangeTimeout`.
- **Execution reports** (user data stream, ``executionReport``): parsed by :func:`parse_execution_report`;
  fills are kept once per (symbol, trade id) by :class:`TradeDedup` (the stream may send a report twice,
  and a reconnect's catch-up by ``myTrades`` sends what the stream already did).

USDⓈ-M (developers.binance.com/docs/derivatives/usds-margined-futures): the same signing (checked against the
futures docs' own example), its weights and limits (:data:`USDM_WEIGHTS`, :data:`USDM_LIMITS`: each figure's
source is beside it), and ``ORDER_TRADE_UPDATE`` events (:func:`parse_order_trade_update`).
:func:`limits_from_exchange_info` reads an account's own limits from ``exchangeInfo``'s ``rateLimits``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlencode

from actors.core._exchange import CancelOutcome, ExchangeError, ExchangeTimeout, OrderStatus
from actors.core._types import Side

__all__ = [
    "ORDER_WEIGHTS",
    "SPOT",
    "SPOT_LIMITS",
    "USDM",
    "USDM_LIMITS",
    "USDM_WEIGHTS",
    "ApiError",
    "Backoff",
    "Budget",
    "BucketStore",
    "Dialect",
    "ExecutionReport",
    "Limit",
    "LocalBuckets",
    "SpotSymbol",
    "TradeDedup",
    "cancel_outcome",
    "classify_http",
    "decimal_text",
    "limits_from_exchange_info",
    "order_state",
    "parse_execution_report",
    "parse_order_trade_update",
    "sign",
    "signed_payload",
    "status_of",
    "to_lots",
    "to_ticks",
    "weight",
]


# ------------------------------------------------------------ signing


def sign(secret: str, total_params: str) -> str:
    """The hex HMAC-SHA256 of ``total_params`` (the query string followed by the body) keyed by ``secret``."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def signed_payload(params: Sequence[tuple[str, str]], secret: str, now_ms: int, recv_window_ms: int = 5000) -> str:
    """``params`` percent-encoded, with ``recvWindow`` and ``timestamp`` added and ``signature`` last."""
    query = urlencode([*params, ("recvWindow", str(recv_window_ms)), ("timestamp", str(now_ms))])
    return f"{query}&signature={sign(secret, query)}"


# ------------------------------------------------------------ the rate budget


@dataclass(frozen=True, slots=True)
class Limit:
    """One of the venue's limits: at most ``limit`` units of ``kind`` per ``seconds`` (a ``rateLimits`` entry)."""

    kind: str
    """``REQUEST_WEIGHT`` or ``ORDERS``."""
    seconds: float
    limit: int


SPOT_LIMITS = (Limit("REQUEST_WEIGHT", 60.0, 6000), Limit("ORDERS", 10.0, 50), Limit("ORDERS", 86400.0, 160000))
"""Binance spot's documented limits (the spot docs' ``rateLimits`` example); an account's own are those of
``GET /api/v3/exchangeInfo``, which a caller passes instead."""

ORDER_WEIGHTS: Mapping[tuple[str, str], int] = {
    ("POST", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/openOrders"): 6,  # one symbol; 80 without (:func:`weight`)
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("POST", "/api/v3/userDataStream"): 2,
    ("PUT", "/api/v3/userDataStream"): 2,
    ("GET", "/api/v3/exchangeInfo"): 20,  # binance-sdk-spot 13.3.0, rest_api/api/general_api.py: "Weight(IP): 20"
}
"""Request weights as the spot docs give them per endpoint."""


def weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """The weight of one spot request; ``GET /api/v3/openOrders`` without a symbol weighs 80."""
    return SPOT.weight(method, path, params)


USDM_LIMITS = (Limit("REQUEST_WEIGHT", 60.0, 2400), Limit("ORDERS", 60.0, 1200))
"""USDⓈ-M's documented limits: the ``rateLimits`` example of ``GET /fapi/v1/exchangeInfo`` (USDⓈ-M docs,
"Exchange Information": REQUEST_WEIGHT 2,400 a minute, ORDERS 1,200 a minute).  The New Order page names a
10 s order limit too (``X-MBX-ORDER-COUNT-10S``) without giving its figure: an account's ``exchangeInfo``
gives it, and :func:`limits_from_exchange_info` reads it at start."""

USDM_WEIGHTS: Mapping[tuple[str, str], int] = {
    # USDⓈ-M docs (trade/rest-api) and the official SDK's docstrings (binance-sdk-derivatives-trading-usds-futures
    # 18.1.0, rest_api/api/trade_api.py and user_data_streams_api.py), which agree:
    ("POST", "/fapi/v1/order"): 0,  # "0 on IP rate limit"; 1 on each order limit (New Order)
    ("DELETE", "/fapi/v1/order"): 1,  # Cancel Order
    ("GET", "/fapi/v1/order"): 1,  # Query Order
    ("DELETE", "/fapi/v1/allOpenOrders"): 1,  # Cancel All Open Orders
    ("GET", "/fapi/v1/openOrders"): 1,  # one symbol; 40 without (Current All Open Orders)
    ("GET", "/fapi/v2/positionRisk"): 5,  # Position Information V2
    ("GET", "/fapi/v1/userTrades"): 5,  # Account Trade List
    ("POST", "/fapi/v1/countdownCancelAll"): 10,  # Auto-Cancel All Open Orders
    ("POST", "/fapi/v1/listenKey"): 1,  # Start User Data Stream
    ("PUT", "/fapi/v1/listenKey"): 1,  # Keepalive User Data Stream
    ("GET", "/fapi/v1/exchangeInfo"): 1,  # Exchange Information
}
"""Request weights (on the IP's ``REQUEST_WEIGHT``) as the USDⓈ-M docs give them per endpoint."""

_INTERVAL_SECONDS = {"SECOND": 1.0, "MINUTE": 60.0, "HOUR": 3600.0, "DAY": 86400.0}


def limits_from_exchange_info(answer: Mapping[str, object]) -> tuple[Limit, ...]:
    """The ``REQUEST_WEIGHT`` and ``ORDERS`` limits of an ``exchangeInfo`` answer (``rateLimits``), in its order;
    an entry this cannot read (another type, an unknown interval) is left out."""
    limits = []
    rows = answer.get("rateLimits")
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("rateLimitType") not in ("REQUEST_WEIGHT", "ORDERS"):
            continue
        seconds = _INTERVAL_SECONDS.get(str(row.get("interval")))
        try:
            count, limit = int(row.get("intervalNum", 1)), int(row["limit"])
        except (KeyError, TypeError, ValueError):
            continue
        if seconds is not None and count > 0 and limit > 0:
            limits.append(Limit(str(row["rateLimitType"]), seconds * count, limit))
    return tuple(limits)


class BucketStore(Protocol):
    """Where the token buckets live: this process (:class:`LocalBuckets`), or somewhere every process of one
    account shares (:class:`actors.venues._shared_buckets.FileBuckets`: a file and a lock, on one host).

    A store may also offer ``raise_to(key, limit, level, now)`` (both here do): :meth:`Budget.correct` lifts a
    bucket to what the venue says was used."""

    def take(self, key: str, limit: Limit, cost: int, ceiling: float, now: float) -> float:
        """Take ``cost`` tokens from bucket ``key`` if its level stays within ``ceiling`` tokens; else take
        nothing.  Returns 0.0 when taken, else the seconds until it would fit."""
        ...


@dataclass(slots=True)
class _Bucket:
    used: float = 0.0
    at: float = 0.0


class LocalBuckets:
    """Token buckets in this process: each drains at ``limit / seconds`` tokens a second (a leaky bucket, the
    smooth form of the venue's fixed windows: never more than ``limit`` in any window of ``seconds``)."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()  # the adapter's threads (callers, stream, heartbeat) share one budget

    def take(self, key: str, limit: Limit, cost: int, ceiling: float, now: float) -> float:
        """See :meth:`BucketStore.take`."""
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
            bucket.used, wait = take_from(bucket.used, bucket.at, limit, cost=cost, ceiling=ceiling, now=now)
            bucket.at = max(bucket.at, now)
        return wait

    def raise_to(self, key: str, limit: Limit, level: float, now: float) -> None:
        """Bucket ``key`` holds at least ``level`` tokens from ``now`` (drained first, never lowered)."""
        with self._lock:
            bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
            bucket.used = max(level, drain(bucket.used, bucket.at, limit, now))
            bucket.at = max(bucket.at, now)

    def level(self, key: str) -> float:
        """Tokens in use in bucket ``key`` as of its last take (for tests and figures)."""
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.used


def drain(used: float, at: float, limit: Limit, now: float) -> float:
    """A bucket's level at ``now`` that held ``used`` tokens at ``at``: it drains at ``limit / seconds`` a second."""
    return max(0.0, used - max(0.0, now - at) * limit.limit / limit.seconds)


def take_from(used: float, at: float, limit: Limit, *, cost: int, ceiling: float, now: float) -> tuple[float, float]:
    """One take from a bucket that held ``used`` at ``at``: (its level after, the wait: 0.0 when taken).  The one
    rule every store applies (:class:`LocalBuckets`, :class:`~actors.venues._shared_buckets.FileBuckets`)."""
    level = drain(used, at, limit, now)
    if level + cost <= ceiling:
        return level + cost, 0.0
    return level, (level + cost - ceiling) / (limit.limit / limit.seconds)


@dataclass
class Budget:
    """The venue's limits kept before sending: may this request go now, or how long must it wait?

    ``cancel_reserve`` is the share of each bucket only cancels may use, so a
    burst of places never leaves a cancel waiting (USDⓈ-M's cancel-on-disconnect
    countdown may use it too: it protects as a cancel does).  What waited and what was
    dropped are counted (a caller drops a request whose wait is longer than
    it can hold it).
    """

    limits: Sequence[Limit] = SPOT_LIMITS
    store: BucketStore = field(default_factory=LocalBuckets)
    cancel_reserve: float = 0.2
    account: str = "default"
    """Whose order buckets these are: Binance counts orders per account."""
    waited: int = 0
    dropped: int = 0
    dialect: Dialect | None = None
    """Whose weights (None: spot's)."""
    ip: str = "default"
    """Whose weight buckets these are: Binance counts weight per IP, so shards on one host share them."""

    def key(self, limit: Limit) -> str:
        """The bucket of ``limit``: the IP's for weight, the account's for orders."""
        owner = self.ip if limit.kind == "REQUEST_WEIGHT" else self.account
        return f"{owner}:{limit.kind}:{limit.seconds:g}"

    def try_take(self, method: str, path: str, params: Mapping[str, str], now: float) -> float:
        """0.0 if the request may go now (its cost taken), else the seconds to wait before asking again."""
        dialect = self.dialect or SPOT
        cost = dialect.weight(method, path, params)
        is_cancel = method == "DELETE" or path == dialect.countdown  # the countdown protects, as cancels do
        is_order = method == "POST" and path == dialect.order
        wait = 0.0
        for limit in self.limits:
            units = cost if limit.kind == "REQUEST_WEIGHT" else (1 if is_order else 0)
            if units == 0:
                continue
            ceiling = limit.limit * (1.0 if is_cancel else 1.0 - self.cancel_reserve)
            wait = max(wait, self.store.take(self.key(limit), limit, units, ceiling, now))
            if wait > 0.0:
                break  # nothing more is taken; what was taken from earlier buckets stays spent (the safe side)
        if wait > 0.0:
            self.waited += 1
        return wait

    def drop(self) -> None:
        """A request that could not wait long enough was not sent."""
        self.dropped += 1

    def correct(self, used_weight: int, now: float) -> None:
        """The venue says the IP used ``used_weight`` this minute (``X-MBX-USED-WEIGHT-1M``): a one-minute
        weight bucket below that rises to it (other processes, other programs on the IP); never lowered."""
        raise_to = getattr(self.store, "raise_to", None)
        if raise_to is None:
            return
        for limit in self.limits:
            if limit.kind == "REQUEST_WEIGHT" and limit.seconds == 60.0:
                raise_to(self.key(limit), limit, float(used_weight), now)


# ------------------------------------------------------------ 429 and 418


@dataclass
class Backoff:
    """Every request held while the venue asked us to back off (429) or banned the IP (418)."""

    until: float = 0.0
    rate_limited: int = 0
    """429 answers."""
    banned: int = 0
    """418 answers."""

    def answered(self, status: int, retry_after: str | None, now: float) -> None:
        """The venue answered ``status``; a 429 or 418 holds every request for ``Retry-After`` seconds (at least
        1 s without one, 60 s for a ban without one)."""
        if status not in (429, 418):
            return
        if status == 429:
            self.rate_limited += 1
        else:
            self.banned += 1
        try:
            seconds = float(retry_after) if retry_after is not None else math.nan
        except ValueError:
            seconds = math.nan
        if not seconds >= 0.0:
            seconds = 60.0 if status == 418 else 1.0
        self.until = max(self.until, now + seconds)

    def wait(self, now: float) -> float:
        """Seconds until requests may go again (0.0: now)."""
        return max(0.0, self.until - now)


# ------------------------------------------------------------ answers and errors


@dataclass(frozen=True, slots=True)
class ApiError:
    """A refusal in Binance's error shape ``{"code": -2011, "msg": "Unknown order sent."}``, with its HTTP status."""

    status: int
    code: int
    msg: str


UNKNOWN_ORDER_SENT = -2011
"""A cancel of an order the venue does not hold open: never there, canceled, or filled (the docs give one code)."""
NO_SUCH_ORDER = -2013
"""``Order does not exist.``: a status query for an id the venue does not know."""
NEW_ORDER_REJECTED = -2010


def classify_http(status: int, body: object) -> ApiError | ExchangeError | None:
    """What an HTTP answer means before its body is read as a success.

    None: a success.  An :class:`ApiError`: the venue refused (4xx with its
    error shape), the call took no effect.  An :class:`ExchangeTimeout`: a 5xx,
    whose outcome the docs call unknown.  An :class:`ExchangeError`: 429 or
    418 (not executed; :class:`Backoff` decides when to go again) and anything
    else that is not the venue's answer.
    """
    if 200 <= status < 300:
        return None
    if status >= 500:
        return ExchangeTimeout(f"HTTP {status}: the venue's outcome is unknown")
    if status in (429, 418):
        return ExchangeError(f"HTTP {status}: {'rate limited' if status == 429 else 'IP banned'}")
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        return ApiError(status, int(body["code"]), str(body.get("msg", "")))
    return ExchangeError(f"HTTP {status}: not the venue's answer")


_STATE_OF_STATUS = {
    "NEW": "open",
    "PARTIALLY_FILLED": "open",
    "PENDING_NEW": "open",
    "PENDING_CANCEL": "open",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "EXPIRED": "canceled",
    "EXPIRED_IN_MATCH": "canceled",
    "REJECTED": "rejected",
}


def order_state(status: str) -> str:
    """One of our :data:`actors.core._exchange.STATUS_STATES` for a Binance order status (an unknown one: open,
    the side that keeps asking)."""
    return _STATE_OF_STATUS.get(status, "open")


def status_of(client_id: str, order: Mapping[str, object] | None, lot_size: Decimal) -> OrderStatus:
    """Our :class:`OrderStatus` from a ``GET /api/v3/order`` answer (None: ``-2013``, the venue has no such order)."""
    if order is None:
        return OrderStatus(client_id, "unknown")
    filled = to_lots(str(order.get("executedQty", "0")), lot_size)
    return OrderStatus(client_id, order_state(str(order.get("status", ""))), str(order.get("orderId")), filled)


def cancel_outcome(error: ApiError, order: Mapping[str, object] | None) -> CancelOutcome:
    """What a refused cancel came to.  Binance answers ``-2011`` whether the order was never there, canceled or
    filled; ``order`` (its status query, None if unknown) tells them apart."""
    if error.code not in (UNKNOWN_ORDER_SENT, NO_SUCH_ORDER):
        return CancelOutcome.REFUSED
    if order is None:
        return CancelOutcome.UNKNOWN_ORDER
    state = order_state(str(order.get("status", "")))
    if state == "filled":
        return CancelOutcome.ALREADY_FILLED
    if state in ("canceled", "rejected"):
        return CancelOutcome.ALREADY_CANCELED
    return CancelOutcome.REFUSED  # still open: refused for a reason of its own; asked again later


# ------------------------------------------------------------ prices and sizes


@dataclass(frozen=True, slots=True)
class SpotSymbol:
    """A spot symbol as the engine trades it: its assets (positions are the base asset's balance) and sizes."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal


def to_lots(quantity: str, lot_size: Decimal) -> int:
    """A decimal quantity in whole lots (rounded to the nearest lot)."""
    return int((Decimal(quantity) / lot_size).to_integral_value())


def to_ticks(price: str, tick_size: Decimal) -> int:
    """A decimal price in whole ticks (rounded to the nearest tick)."""
    return int((Decimal(price) / tick_size).to_integral_value())


def decimal_text(units: int, size: Decimal) -> str:
    """``units`` of ``size`` as the plain decimal text Binance takes (no exponent, no trailing zeros)."""
    return format((size * units).normalize(), "f")


# ------------------------------------------------------------ execution reports


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One ``executionReport`` of the user data stream, the fields the engine reads."""

    symbol: str
    client_id: str
    """The order's client id (``C`` on a cancel, whose ``c`` is the cancel request's own id)."""
    order_id: int
    side: Side
    execution: str
    """``x``: NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION."""
    status: str
    """``X``: the order's status after this event."""
    trade_id: int
    """``t``: -1 unless ``execution`` is TRADE."""
    last_qty: str
    last_price: str
    cumulative_qty: str
    event_ms: int


def parse_execution_report(event: Mapping[str, object]) -> ExecutionReport | None:
    """An ``executionReport`` event as a record; None for any other event (or one missing its fields)."""
    if event.get("e") != "executionReport":
        return None
    try:
        original = str(event.get("C") or "")
        return ExecutionReport(
            symbol=str(event["s"]),
            client_id=original if original else str(event["c"]),
            order_id=int(str(event["i"])),
            side=Side.BUY if event["S"] == "BUY" else Side.SELL,
            execution=str(event["x"]),
            status=str(event["X"]),
            trade_id=int(str(event.get("t", -1))),
            last_qty=str(event.get("l", "0")),
            last_price=str(event.get("L", "0")),
            cumulative_qty=str(event.get("z", "0")),
            event_ms=int(str(event.get("E", 0))),
        )
    except (KeyError, ValueError):
        return None


class TradeDedup:
    """Each trade once, by (symbol, trade id): trade ids are unique per symbol on Binance.

    Bounded: the oldest ids are forgotten past ``keep``; a trade that old
    coming back (a duplicate after many thousands of trades) would be kept
    twice, so ``keep`` is set well above what a reconnect's catch-up reads.
    """

    def __init__(self, keep: int = 100_000) -> None:
        self._seen: dict[tuple[str, int], None] = {}
        self._keep = keep
        self.duplicates = 0

    def first(self, symbol: str, trade_id: int) -> bool:
        """True the first time this trade is seen (and remember it); False for a copy."""
        key = (symbol, trade_id)
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = None
        if len(self._seen) > self._keep:
            del self._seen[next(iter(self._seen))]
        return True


def parse_order_trade_update(event: Mapping[str, object]) -> ExecutionReport | None:
    """A USDⓈ-M ``ORDER_TRADE_UPDATE`` event (its order in ``o``) as a record; None for any other event.

    Futures have no cancel request id: ``c`` is always the order's own client id.
    """
    if event.get("e") != "ORDER_TRADE_UPDATE":
        return None
    order = event.get("o")
    if not isinstance(order, dict):
        return None
    try:
        return ExecutionReport(
            symbol=str(order["s"]),
            client_id=str(order["c"]),
            order_id=int(str(order["i"])),
            side=Side.BUY if order["S"] == "BUY" else Side.SELL,
            execution=str(order["x"]),
            status=str(order["X"]),
            trade_id=int(str(order.get("t", 0))) if order.get("x") == "TRADE" else -1,
            last_qty=str(order.get("l", "0")),
            last_price=str(order.get("L", "0")),
            cumulative_qty=str(order.get("z", "0")),
            event_ms=int(str(event.get("E", 0))),
        )
    except (KeyError, ValueError):
        return None


# ------------------------------------------------------------ dialects


@dataclass(frozen=True)
class Dialect:
    """What one Binance API calls each thing: the adapter and the local server are written once against this.

    Spot (:data:`SPOT`) and USDⓈ-M futures (:data:`USDM`) sign, answer and
    refuse alike; they differ in paths, weights, limits, the stream's order
    event, how an order is made post-only, and where positions come from.
    """

    name: str
    order: str
    """``POST``/``DELETE``/``GET`` one order."""
    open_orders: str
    """``GET`` the open orders (one symbol, or all)."""
    cancel_all: str
    """``DELETE`` every open order of one symbol."""
    trades: str
    """``GET`` the account's trades of one symbol (``fromId``)."""
    listen_key: str
    """``POST``/``PUT``/``DELETE`` the user stream's listen key (API key only)."""
    account: str
    """``GET`` what the account holds: spot's balances, or futures' positions."""
    exchange_info: str
    weights: Mapping[tuple[str, str], int]
    all_symbols_open_orders_weight: int
    """``GET open_orders`` without a symbol."""
    limits: tuple[Limit, ...]
    parse_event: Callable[[Mapping[str, object]], ExecutionReport | None]
    limit_params: tuple[tuple[str, str], ...]
    """A plain limit order's ``type`` (and ``timeInForce``)."""
    post_only_params: tuple[tuple[str, str], ...]
    """A post-only limit order's: spot's ``LIMIT_MAKER``, futures' ``timeInForce=GTX``."""
    has_positions: bool
    """Whether ``account`` gives positions (futures), rather than balances (spot)."""
    countdown: str | None = None
    """``POST`` the cancel-on-disconnect countdown (USDⓈ-M only)."""
    signed_paths: tuple[str, ...] = ()

    def weight(self, method: str, path: str, params: Mapping[str, str]) -> int:
        """The weight of one request on the IP's ``REQUEST_WEIGHT`` (1 for a path not listed)."""
        if method == "GET" and path == self.open_orders and "symbol" not in params:
            return self.all_symbols_open_orders_weight
        return self.weights.get((method, path), 1)


SPOT = Dialect(
    name="spot",
    order="/api/v3/order",
    open_orders="/api/v3/openOrders",
    cancel_all="/api/v3/openOrders",
    trades="/api/v3/myTrades",
    listen_key="/api/v3/userDataStream",
    account="/api/v3/account",
    exchange_info="/api/v3/exchangeInfo",
    weights=ORDER_WEIGHTS,
    all_symbols_open_orders_weight=80,
    limits=SPOT_LIMITS,
    parse_event=parse_execution_report,
    limit_params=(("type", "LIMIT"), ("timeInForce", "GTC")),
    post_only_params=(("type", "LIMIT_MAKER"),),
    has_positions=False,
    signed_paths=("/api/v3/order", "/api/v3/openOrders", "/api/v3/account", "/api/v3/myTrades"),
)
"""Binance spot (``/api/v3``)."""

USDM = Dialect(
    name="usdm",
    order="/fapi/v1/order",
    open_orders="/fapi/v1/openOrders",
    cancel_all="/fapi/v1/allOpenOrders",
    trades="/fapi/v1/userTrades",
    listen_key="/fapi/v1/listenKey",
    account="/fapi/v2/positionRisk",
    exchange_info="/fapi/v1/exchangeInfo",
    weights=USDM_WEIGHTS,
    all_symbols_open_orders_weight=40,
    limits=USDM_LIMITS,
    parse_event=parse_order_trade_update,
    limit_params=(("type", "LIMIT"), ("timeInForce", "GTC")),
    post_only_params=(("type", "LIMIT"), ("timeInForce", "GTX")),
    has_positions=True,
    countdown="/fapi/v1/countdownCancelAll",
    signed_paths=(
        "/fapi/v1/order",
        "/fapi/v1/openOrders",
        "/fapi/v1/allOpenOrders",
        "/fapi/v2/positionRisk",
        "/fapi/v1/userTrades",
        "/fapi/v1/countdownCancelAll",
    ),
)
"""Binance USDⓈ-M futures (``/fapi``)."""
