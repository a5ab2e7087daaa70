"""A local server speaking Binance USDⓈ-M's order API and user stream, the simulated venue behind it (127.0.0.1).

:class:`BinanceUsdmVenueServer` is :class:`~actors.testing._binance_venue_server.BinanceVenueServer` with the
futures dialect (developers.binance.com/docs/derivatives/usds-margined-futures), so it checks keys, signatures
and times alike and fails on command alike (``throttle``, ``lose_answers``, ``hold_reports``,
``duplicate_reports``, ``drop_stream``, ``expire_listen_key``).  What it answers in futures' shapes:

- ``POST``/``DELETE``/``GET /fapi/v1/order`` (LIMIT, ``timeInForce`` GTC or GTX; ``reduceOnly``, refused with
  ``-2022`` when it would not reduce the position; a client id already open is ``-4116``);
- ``GET /fapi/v1/openOrders``, ``DELETE /fapi/v1/allOpenOrders`` (``{"code": 200, "msg": ...}``);
- ``GET /fapi/v2/positionRisk`` (one-way mode: ``positionSide`` BOTH), ``GET /fapi/v1/userTrades``;
- ``POST``/``PUT``/``DELETE /fapi/v1/listenKey``, ``GET /fapi/v1/exchangeInfo`` (``rateLimits``);
- ``POST /fapi/v1/countdownCancelAll``: each symbol's countdown; when one runs out before it is set again, every
  open order of that symbol is canceled (checked every 10 ms, as the docs say Binance does) and the countdown
  ends; ``countdownTime=0`` ends it at once.

Its stream sends ``ORDER_TRADE_UPDATE`` for every NEW, CANCELED and TRADE.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from actors.core._types import Side
from actors.testing._binance_venue_server import BinanceVenueServer, _Order
from actors.venues._binance_rules import USDM, decimal_text

__all__ = ["BinanceUsdmVenueServer"]


class BinanceUsdmVenueServer(BinanceVenueServer):
    """Binance USDⓈ-M's order API on 127.0.0.1 with the simulated venue behind it."""

    dialect = USDM
    duplicate_refusal = (-4116, "ClientOrderId is duplicated.")

    def start(self) -> BinanceUsdmVenueServer:
        """Listen, and watch the countdowns in a thread of their own."""
        self._countdowns: dict[str, int] = {}
        self.countdown_sets: dict[str, int] = {}
        """Per symbol, the ``countdownCancelAll`` calls that set a countdown (re-arms included)."""
        self.countdowns_fired: list[str] = []
        """Symbols whose countdown ran out, in the order they did."""
        self._watching = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="binance-venue-countdown", daemon=True)
        super().start()
        self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop watching the countdowns, then as the spot server."""
        self._watching.set()
        self._watcher.join(30)
        super().stop()

    def countdown_of(self, symbol: str) -> int | None:
        """The deadline (server ms) of ``symbol``'s countdown, None if none runs."""
        with self._lock:
            return self._countdowns.get(symbol)

    # -- the countdown ----------------------------------------------------------------------------------------------

    def _countdown(self, symbol: str, params: Mapping[str, str]) -> tuple[int, Any]:
        if not symbol:
            return 400, {"code": -1102, "msg": "Mandatory parameter 'symbol' was not sent."}
        try:
            countdown_ms = int(params["countdownTime"])
        except (KeyError, ValueError):
            return 400, {"code": -1102, "msg": "Mandatory parameter 'countdownTime' was not sent."}
        if countdown_ms < 0:
            return 400, {"code": -1100, "msg": "Illegal characters found in parameter 'countdownTime'."}
        if countdown_ms == 0:
            self._countdowns.pop(symbol, None)
        else:
            self._countdowns[symbol] = self._clock_ms() + countdown_ms
            self.countdown_sets[symbol] = self.countdown_sets.get(symbol, 0) + 1
        return 200, {"symbol": symbol, "countdownTime": str(countdown_ms)}

    def _watch(self) -> None:
        """Every 10 ms: the countdowns run out cancel every open order of their symbol."""
        while not self._watching.wait(0.01):
            with self._lock:
                now = self._clock_ms()
                for symbol in sorted(s for s, deadline in self._countdowns.items() if deadline <= now):
                    del self._countdowns[symbol]
                    self.countdowns_fired.append(symbol)
                    for order in self._open(symbol):
                        self._cancel(order, {})

    # -- futures' shapes --------------------------------------------------------------------------------------------

    def _refuse_place(self, symbol: str, params: Mapping[str, str]) -> tuple[int, Any] | None:
        if params.get("type") != "LIMIT" or params.get("timeInForce") not in ("GTC", "GTX"):
            return 400, {"code": -1116, "msg": "Invalid orderType."}
        if params.get("reduceOnly") == "true":
            position = self.positions.get(symbol, 0)
            reducing = (position > 0 and params.get("side") == "SELL") or (position < 0 and params.get("side") == "BUY")
            if not reducing:
                return 400, {"code": -2022, "msg": "ReduceOnly Order is rejected."}
        return None

    def _placed(self, order: _Order) -> dict[str, Any]:
        return self._order_body(order)

    def _order_body(self, order: _Order) -> dict[str, Any]:
        spec = self.symbols[order.symbol]
        executed = decimal_text(order.executed_lots, spec.lot_size)
        average = order.quote_filled / (spec.lot_size * order.executed_lots) if order.executed_lots else Decimal(0)
        return {
            "avgPrice": format(average.normalize(), "f"), "clientOrderId": order.client_id,
            "cumQuote": format(order.quote_filled.normalize(), "f"), "executedQty": executed,
            "orderId": order.order_id, "origQty": order.qty, "origType": "LIMIT", "price": order.price,
            "reduceOnly": order.reduce_only, "side": order.side.name, "positionSide": "BOTH",
            "status": order.status, "stopPrice": "0", "closePosition": False, "symbol": order.symbol,
            "time": order.time_ms, "timeInForce": order.time_in_force, "type": "LIMIT",
            "updateTime": order.time_ms, "workingType": "CONTRACT_PRICE", "priceProtect": False,
            "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
        }  # fmt: skip

    def _cancel(self, order: _Order | None, params: Mapping[str, str]) -> tuple[int, Any]:
        if order is None:
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        result = self.venue.cancel(order.venue_id)
        if not result.ok:
            return 400, {"code": -2011, "msg": "Unknown order sent."}
        order.status = "CANCELED"
        self._send([self._report(order, "CANCELED")])
        return 200, self._order_body(order)

    def _cancel_all(self, mine: list[_Order]) -> tuple[int, Any]:
        for order in mine:
            self._cancel(order, {})
        return 200, {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _account(self) -> Any:
        rows = []
        for name, spec in sorted(self.symbols.items()):
            amount = decimal_text(self.positions.get(name, 0), spec.lot_size)
            rows.append({"symbol": name, "positionAmt": amount, "entryPrice": "0", "breakEvenPrice": "0",
                         "markPrice": "0", "unRealizedProfit": "0", "liquidationPrice": "0", "leverage": "20",
                         "maxNotionalValue": "0", "marginType": "cross", "isolatedMargin": "0",
                         "isAutoAddMargin": "false", "positionSide": "BOTH", "notional": "0",
                         "isolatedWallet": "0", "updateTime": self._clock_ms()})  # fmt: skip
        return rows

    def _trade_row(self, order: _Order, side: Side, trade_id: int, qty: Decimal, price: Decimal) -> dict[str, Any]:
        return {
            "buyer": side is Side.BUY, "commission": "0", "commissionAsset": self.symbols[order.symbol].quote,
            "id": trade_id, "maker": True, "orderId": order.order_id, "price": format(price.normalize(), "f"),
            "qty": format(qty.normalize(), "f"), "quoteQty": format((qty * price).normalize(), "f"),
            "realizedPnl": "0", "side": side.name, "positionSide": "BOTH", "symbol": order.symbol,
            "time": self._clock_ms(),
        }  # fmt: skip

    def _report(self, order: _Order, execution: str, **extra: Any) -> dict[str, Any]:
        spec = self.symbols[order.symbol]
        now = self._clock_ms()
        return {
            "e": "ORDER_TRADE_UPDATE", "E": now, "T": now,
            "o": {
                "s": order.symbol, "c": order.client_id, "S": order.side.name, "o": "LIMIT",
                "f": order.time_in_force, "q": order.qty, "p": order.price, "ap": "0", "sp": "0",
                "x": execution, "X": order.status, "i": order.order_id, "l": extra.get("l", "0"),
                "z": decimal_text(order.executed_lots, spec.lot_size), "L": extra.get("L", "0"),
                "N": spec.quote, "n": "0", "T": now, "t": extra.get("t", 0), "b": "0", "a": "0", "m": True,
                "R": order.reduce_only, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False,
                "rp": "0", "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
            },
        }  # fmt: skip
