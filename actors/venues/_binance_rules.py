"""Binance spot's rules for an order client, pure: signing, the rate budget, backoff, execution reports, states.

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
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlencode

from actors.core._exchange import CancelOutcome, ExchangeError, ExchangeTimeout, OrderStatus
from actors.core._types import Side

__all__ = [
    "ORDER_WEIGHTS",
    "SPOT_LIMITS",
    "ApiError",
    "Backoff",
    "Budget",
    "BucketStore",
    "ExecutionReport",
    "Limit",
    "LocalBuckets",
    "SpotSymbol",
    "TradeDedup",
    "cancel_outcome",
    "classify_http",
    "decimal_text",
    "order_state",
    "parse_execution_report",
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
    ("GET", "/api/v3/exchangeInfo"): 20,
}
"""Request weights as the spot docs give them per endpoint."""


def weight(method: str, path: str, params: Mapping[str, str]) -> int:
    """The weight of one request; ``GET /api/v3/openOrders`` without a symbol weighs 80."""
    if method == "GET" and path == "/api/v3/openOrders" and "symbol" not in params:
        return 80
    return ORDER_WEIGHTS.get((method, path), 1)


class BucketStore(Protocol):
    """Where the token buckets live: this process (:class:`LocalBuckets`), or somewhere every process of one
    account shares (a later implementation: a file lock, a shared memory block, the coordinator)."""

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

    def take(self, key: str, limit: Limit, cost: int, ceiling: float, now: float) -> float:
        """See :meth:`BucketStore.take`."""
        bucket = self._buckets.setdefault(key, _Bucket(0.0, now))
        rate = limit.limit / limit.seconds
        bucket.used = max(0.0, bucket.used - (now - bucket.at) * rate)
        bucket.at = now
        if bucket.used + cost <= ceiling:
            bucket.used += cost
            return 0.0
        return (bucket.used + cost - ceiling) / rate

    def level(self, key: str) -> float:
        """Tokens in use in bucket ``key`` as of its last take (for tests and figures)."""
        bucket = self._buckets.get(key)
        return 0.0 if bucket is None else bucket.used


@dataclass
class Budget:
    """The venue's limits kept before sending: may this request go now, or how long must it wait?

    ``cancel_reserve`` is the share of each bucket only cancels may use, so a
    burst of places never leaves a cancel waiting.  What waited and what was
    dropped are counted (a caller drops a request whose wait is longer than
    it can hold it).
    """

    limits: Sequence[Limit] = SPOT_LIMITS
    store: BucketStore = field(default_factory=LocalBuckets)
    cancel_reserve: float = 0.2
    account: str = "default"
    waited: int = 0
    dropped: int = 0

    def try_take(self, method: str, path: str, params: Mapping[str, str], now: float) -> float:
        """0.0 if the request may go now (its cost taken), else the seconds to wait before asking again."""
        cost = weight(method, path, params)
        is_cancel = method == "DELETE"
        is_order = method == "POST" and path == "/api/v3/order"
        wait = 0.0
        for limit in self.limits:
            units = cost if limit.kind == "REQUEST_WEIGHT" else (1 if is_order else 0)
            if units == 0:
                continue
            ceiling = limit.limit * (1.0 if is_cancel else 1.0 - self.cancel_reserve)
            key = f"{self.account}:{limit.kind}:{limit.seconds:g}"
            wait = max(wait, self.store.take(key, limit, units, ceiling, now))
            if wait > 0.0:
                break  # nothing more is taken; what was taken from earlier buckets stays spent (the safe side)
        if wait > 0.0:
            self.waited += 1
        return wait

    def drop(self) -> None:
        """A request that could not wait long enough was not sent."""
        self.dropped += 1


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
