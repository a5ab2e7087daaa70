"""Binance spot's rules, pure: signing against Binance's published example, the budget, backoff, reports."""

from __future__ import annotations

from decimal import Decimal

from actors.core._exchange import CancelOutcome, ExchangeError, ExchangeTimeout
from actors.core._types import Side
from actors.venues._binance_rules import (
    SPOT,
    USDM,
    ApiError,
    Backoff,
    Budget,
    Limit,
    TradeDedup,
    cancel_outcome,
    classify_http,
    limits_from_exchange_info,
    order_state,
    parse_execution_report,
    parse_order_trade_update,
    sign,
    signed_payload,
    status_of,
)

# The spot docs' "SIGNED endpoint examples for POST /api/v3/order" (HMAC keys): their secret, query and signature.
DOCS_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOCS_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
DOCS_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_signing_gives_the_signature_of_binances_published_example() -> None:
    assert sign(DOCS_SECRET, DOCS_QUERY) == DOCS_SIGNATURE


def test_a_signed_payload_adds_the_window_and_time_and_ends_with_the_docs_signature() -> None:
    params = [("symbol", "LTCBTC"), ("side", "BUY"), ("type", "LIMIT"), ("timeInForce", "GTC"),
              ("quantity", "1"), ("price", "0.1")]  # fmt: skip
    assert signed_payload(params, DOCS_SECRET, 1499827319559) == f"{DOCS_QUERY}&signature={DOCS_SIGNATURE}"


def test_places_leave_the_cancels_reserve_untouched_and_a_cancel_still_goes() -> None:
    budget = Budget(limits=(Limit("REQUEST_WEIGHT", 60.0, 10),), cancel_reserve=0.2)
    sent = sum(budget.try_take("POST", "/api/v3/order", {}, 0.0) == 0.0 for _ in range(20))
    assert sent == 8  # 80 % of 10
    assert budget.try_take("DELETE", "/api/v3/order", {}, 0.0) == 0.0
    assert budget.waited == 12


def test_the_order_count_limit_holds_places_and_says_how_long_to_wait() -> None:
    budget = Budget(limits=(Limit("ORDERS", 10.0, 50),), cancel_reserve=0.0)
    assert all(budget.try_take("POST", "/api/v3/order", {}, 0.0) == 0.0 for _ in range(50))
    wait = budget.try_take("POST", "/api/v3/order", {}, 0.0)
    assert wait == 10.0 / 50
    assert budget.try_take("POST", "/api/v3/order", {}, wait) == 0.0


def test_open_orders_of_every_symbol_weigh_eighty() -> None:
    budget = Budget(limits=(Limit("REQUEST_WEIGHT", 60.0, 100),), cancel_reserve=0.0)
    assert budget.try_take("GET", "/api/v3/openOrders", {}, 0.0) == 0.0
    assert budget.try_take("GET", "/api/v3/openOrders", {}, 0.0) > 0.0
    assert budget.try_take("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, 0.0) == 0.0


def test_a_429_holds_requests_for_its_retry_after_and_a_418_without_one_for_a_minute() -> None:
    backoff = Backoff()
    backoff.answered(429, "3", 100.0)
    assert backoff.wait(101.0) == 2.0 and backoff.wait(103.0) == 0.0
    backoff.answered(418, None, 200.0)
    assert backoff.wait(200.0) == 60.0
    backoff.answered(200, "99", 300.0)
    assert (backoff.rate_limited, backoff.banned, backoff.wait(300.0)) == (1, 1, 0.0)


def test_http_answers_are_classified_as_binance_documents_them() -> None:
    assert classify_http(200, {}) is None
    assert isinstance(classify_http(503, None), ExchangeTimeout)
    limited = classify_http(429, {"code": -1003, "msg": "Too many requests"})
    assert isinstance(limited, ExchangeError) and not isinstance(limited, ExchangeTimeout)
    assert classify_http(400, {"code": -2011, "msg": "Unknown order sent."}) == ApiError(
        400, -2011, "Unknown order sent."
    )


def test_a_refused_cancel_is_told_apart_by_the_orders_status() -> None:
    refused = ApiError(400, -2011, "Unknown order sent.")
    assert cancel_outcome(refused, None) is CancelOutcome.UNKNOWN_ORDER
    assert cancel_outcome(refused, {"status": "FILLED"}) is CancelOutcome.ALREADY_FILLED
    assert cancel_outcome(refused, {"status": "CANCELED"}) is CancelOutcome.ALREADY_CANCELED
    assert cancel_outcome(ApiError(400, -1021, "Timestamp"), None) is CancelOutcome.REFUSED


def test_binance_statuses_map_to_ours() -> None:
    assert [order_state(s) for s in ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED")] == [
        "open", "open", "filled", "canceled", "canceled", "rejected"]  # fmt: skip
    status = status_of("c1", {"orderId": 7, "status": "PARTIALLY_FILLED", "executedQty": "0.003"}, Decimal("0.001"))
    assert (status.state, status.exchange_order_id, status.filled_lots) == ("open", "7", 3)
    assert status_of("c2", None, Decimal("0.001")).state == "unknown"


def test_an_execution_report_of_a_cancel_names_the_canceled_orders_client_id() -> None:
    report = parse_execution_report({"e": "executionReport", "s": "BTCUSDT", "c": "cancel9", "C": "CLI9", "S": "SELL",
                                     "x": "CANCELED", "X": "CANCELED", "i": 9, "t": -1, "E": 5})  # fmt: skip
    assert report is not None and report.client_id == "CLI9" and report.trade_id == -1
    assert parse_execution_report({"e": "outboundAccountPosition"}) is None
    assert parse_execution_report({"e": "executionReport", "s": "X"}) is None


def test_each_trade_is_kept_once_by_symbol_and_trade_id() -> None:
    dedup = TradeDedup(keep=2)
    assert [dedup.first("A", 1), dedup.first("A", 1), dedup.first("B", 1), dedup.first("A", 2)] == [
        True, False, True, True]  # fmt: skip
    assert dedup.duplicates == 1


# The USDⓈ-M docs' "SIGNED Endpoint Examples for POST /fapi/v1/order - HMAC Keys" (General Info).
FUTURES_DOCS_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
FUTURES_DOCS_QUERY = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
)
FUTURES_DOCS_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_signing_gives_the_signature_of_the_futures_docs_example() -> None:
    assert sign(FUTURES_DOCS_SECRET, FUTURES_DOCS_QUERY) == FUTURES_DOCS_SIGNATURE


def test_a_futures_place_weighs_nothing_on_the_ip_and_one_on_each_order_limit() -> None:
    budget = Budget(limits=(Limit("REQUEST_WEIGHT", 60.0, 10), Limit("ORDERS", 60.0, 5)), cancel_reserve=0.0,
                    dialect=USDM)  # fmt: skip
    assert [budget.try_take("POST", "/fapi/v1/order", {}, 0.0) == 0.0 for _ in range(6)] == [True] * 5 + [False]
    assert budget.try_take("GET", "/fapi/v1/openOrders", {}, 0.0) > 0.0  # 40 without a symbol
    assert budget.try_take("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}, 0.0) == 0.0
    assert USDM.weight("POST", "/fapi/v1/countdownCancelAll", {}) == 10 and SPOT.weight("GET", "/api/v3/order", {}) == 4


def test_weight_is_counted_per_ip_and_orders_per_account() -> None:
    budget = Budget(account="acct", ip="host")
    assert [budget.key(limit) for limit in budget.limits] == [
        "host:REQUEST_WEIGHT:60", "acct:ORDERS:10", "acct:ORDERS:86400"]  # fmt: skip


def test_the_limits_are_read_from_exchange_info() -> None:
    answer = {"rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        {"rateLimitType": "ORDERS", "interval": "FORTNIGHT", "intervalNum": 1, "limit": 9},
    ]}  # fmt: skip
    assert limits_from_exchange_info(answer) == (Limit("REQUEST_WEIGHT", 60.0, 2400), Limit("ORDERS", 10.0, 300))
    assert limits_from_exchange_info({}) == ()


def test_an_order_trade_update_is_read_as_a_report() -> None:
    event = {"e": "ORDER_TRADE_UPDATE", "E": 9, "T": 9, "o": {"s": "BTCUSDT", "c": "CLI1", "S": "SELL", "x": "TRADE",
             "X": "PARTIALLY_FILLED", "i": 8886774, "l": "0.001", "z": "0.001", "L": "7100.5", "t": 42}}  # fmt: skip
    report = parse_order_trade_update(event)
    assert report is not None
    assert (report.client_id, report.side, report.trade_id, report.last_qty, report.last_price) == (
        "CLI1", Side.SELL, 42, "0.001", "7100.5")  # fmt: skip
    new = parse_order_trade_update({**event, "o": {**event["o"], "x": "NEW", "X": "NEW", "t": 0}})  # type: ignore[dict-item]
    assert new is not None and new.trade_id == -1
    assert parse_order_trade_update({"e": "ACCOUNT_UPDATE"}) is None
    assert parse_order_trade_update({"e": "ORDER_TRADE_UPDATE", "o": {"s": "X"}}) is None


def test_the_cancel_on_disconnect_countdown_may_use_the_cancels_reserve() -> None:
    budget = Budget(limits=(Limit("REQUEST_WEIGHT", 60.0, 50),), cancel_reserve=0.2, dialect=USDM)
    assert [budget.try_take("GET", "/fapi/v1/order", {}, 0.0) == 0.0 for _ in range(41)] == [True] * 40 + [False]
    assert budget.try_take("POST", "/fapi/v1/countdownCancelAll", {}, 0.0) == 0.0  # 40 + 10: the reserve
