"""Binance USDⓈ-M futures as a venue: :class:`BinanceUsdmVenue`, the spot adapter with the futures dialect.

Everything spot's adapter promises holds here (:mod:`actors.venues._binance`:
never placing twice, limits kept before sending, each fill once, keys never
shown), on the futures paths and weights (:data:`~actors.venues._binance_rules.USDM`).
What futures add:

- **Positions are the venue's** (``GET /fapi/v2/positionRisk``, one-way mode:
  ``positionSide`` BOTH), in lots; no flat balance is needed.
- **Post-only** is ``timeInForce=GTX``; an engine's **reduce-only** order is
  sent with ``reduceOnly=true``.
- **Cancel-on-disconnect** (``POST /fapi/v1/countdownCancelAll``): armed for
  each traded symbol before the first order (by :meth:`start`, or the first
  :meth:`place`), re-armed every ``countdown_ms / 3`` by a thread of the
  adapter's own, disarmed (``countdownTime=0``) by a clean :meth:`close`.  If
  the process dies, or its network does, the venue cancels every open order
  of each symbol when the countdown runs out.  Spot has no such call: there a
  freeze on exit (or a watchdog) has to cancel (docs/LIVE.md).
- **The demo environment by default** (``https://demo-fapi.binance.com``, its
  user stream ``wss://demo-fstream.binance.com``); the futures testnet is
  allowed too; any other host needs ``allow_real``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from actors.core._exchange import ExchangeError, PlaceRequest, PlaceResult
from actors.venues._binance import BinanceSpotVenue, Credentials
from actors.venues._binance_rules import USDM, Budget, SpotSymbol, to_lots

__all__ = ["DEMO_STREAM_URL", "DEMO_URL", "BinanceUsdmVenue", "Countdown"]

DEMO_URL = "https://demo-fapi.binance.com"
"""USDⓈ-M's demo REST host (the official SDK's ``DERIVATIVES_TRADING_USDS_FUTURES_REST_API_DEMO_URL``)."""
DEMO_STREAM_URL = "wss://demo-fstream.binance.com"
"""USDⓈ-M demo's stream host (NautilusTrader's ``BINANCE_FUTURES_USD_DEMO_WS_URL``; Binance's SDK names none)."""
TESTNET_URL, TESTNET_STREAM_URL = "https://testnet.binancefuture.com", "wss://fstream.binancefuture.com"
_SAFE_HOSTS = ("demo-fapi.binance.com", "demo-fstream.binance.com", "testnet.binancefuture.com",
               "fstream.binancefuture.com", "127.0.0.1", "localhost")  # fmt: skip


@dataclass
class Countdown:
    """What the cancel-on-disconnect did, for the report and the metrics."""

    armed: int = 0
    """``countdownCancelAll`` calls that set a countdown (the first of each symbol and every re-arm)."""
    failed: int = 0
    """Calls that did not get through (the venue's countdown goes on from the last one that did)."""
    disarmed: int = 0


class BinanceUsdmVenue(BinanceSpotVenue):
    """Binance USDⓈ-M futures behind the venue interface (its demo environment by default)."""

    dialect = USDM
    safe_hosts = _SAFE_HOSTS

    def __init__(
        self,
        symbols: Mapping[str, SpotSymbol],
        credentials: Credentials,
        *,
        base_url: str = DEMO_URL,
        stream_url: str = DEMO_STREAM_URL,
        allow_real: bool = False,
        post_only: bool = False,
        budget: Budget | None = None,
        max_wait_s: float = 1.0,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        countdown_ms: int = 120_000,
        rearm_every_s: float | None = None,
    ) -> None:
        """``countdown_ms``: the cancel-on-disconnect countdown (0: none); re-armed every ``rearm_every_s``
        (default a third of it, as the docs' example: a 120 s countdown re-armed every 30 s or sooner)."""
        super().__init__(symbols, credentials, base_url=base_url, stream_url=stream_url, allow_real=allow_real,
                         post_only=post_only, budget=budget, max_wait_s=max_wait_s, timeout_s=timeout_s,
                         clock=clock)  # fmt: skip
        if countdown_ms < 0:
            raise ValueError("countdown_ms must be 0 (none) or positive")
        self.countdown_ms = countdown_ms
        self._rearm_every_s = rearm_every_s if rearm_every_s is not None else countdown_ms / 3000.0
        self.countdown = Countdown()
        self._heartbeat: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()
        self._arm_lock = threading.Lock()

    # ------------------------------------------------------------ the venue interface

    def place(self, request: PlaceRequest) -> PlaceResult:
        """As spot's, with the cancel-on-disconnect armed first: no order rests without it."""
        self.arm()
        return super().place(request)

    def get_positions(self) -> dict[str, int]:
        """Per symbol, the venue's position in lots (``positionRisk``, one-way mode; zero ones omitted)."""
        answer = self._call("GET", self.dialect.account, [])
        positions: dict[str, int] = {}
        for row in answer if isinstance(answer, list) else []:
            spec = self.symbols.get(str(row.get("symbol")))
            if spec is None or row.get("positionSide", "BOTH") != "BOTH":
                continue
            positions[spec.symbol] = positions.get(spec.symbol, 0) + to_lots(str(row.get("positionAmt", "0")),
                                                                             spec.lot_size)  # fmt: skip
        return {symbol: lots for symbol, lots in sorted(positions.items()) if lots}

    # ------------------------------------------------------------ start, close

    def start(self) -> None:
        """Before the first order: the limits from ``exchangeInfo``, the countdown armed, the user stream."""
        self.load_limits()
        self.arm()
        self.start_stream()

    def arm(self) -> None:
        """Arm the countdown for every traded symbol and start re-arming it (once; a no-op without one).

        Raises :class:`ExchangeError` if a symbol's countdown could not be set:
        no order goes to the venue unprotected.
        """
        if self.countdown_ms == 0:
            return
        with self._arm_lock:
            if self._heartbeat is not None:
                return
            for symbol in sorted(self.symbols):
                self._set_countdown(symbol, self.countdown_ms)
            self._heartbeat_stop.clear()
            self._heartbeat = threading.Thread(target=self._heartbeat_main, name="binance-usdm-countdown",
                                               daemon=True)  # fmt: skip
            self._heartbeat.start()

    def close(self, *, disarm: bool = True) -> None:
        """Stop re-arming; with ``disarm`` (a clean exit) set each countdown to 0 first; then as spot's.

        ``disarm=False`` leaves the venue's countdowns running: they cancel
        every open order when they run out (what a process that dies leaves).
        """
        heartbeat, self._heartbeat = self._heartbeat, None
        if heartbeat is not None:
            self._heartbeat_stop.set()
            heartbeat.join(30)
            if disarm:
                for symbol in sorted(self.symbols):
                    with contextlib.suppress(ExchangeError):
                        self._set_countdown(symbol, 0)
                        self.countdown.disarmed += 1
        super().close()

    def _heartbeat_main(self) -> None:
        """Re-arm every symbol's countdown every ``rearm_every_s`` until stopped (a failed call is counted, and
        the next period tries again: the venue's countdown runs on from the last call that got through)."""
        while not self._heartbeat_stop.wait(self._rearm_every_s):
            for symbol in sorted(self.symbols):
                try:
                    self._set_countdown(symbol, self.countdown_ms)
                except ExchangeError:
                    self.countdown.failed += 1
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()

    def _set_countdown(self, symbol: str, countdown_ms: int) -> None:
        assert self.dialect.countdown is not None
        self._call("POST", self.dialect.countdown, [("symbol", symbol), ("countdownTime", str(countdown_ms))])
        if countdown_ms:
            self.countdown.armed += 1
