"""``bin/bench --gateway-venue MS``: orders/s through the gateway against the local Binance server, blocking or not;
``bin/bench --venue-adapter N``: the adapter's own cost per order, the server in another process.

The gateway role with ``BinanceSpotVenue`` behind it, on the threads
runtime, the local server (:class:`BinanceVenueServer`, the simulated venue
behind it) answering every REST request ``MS`` milliseconds after carrying
it out.  Each of ``requests`` requests holds ``places`` placements; the
clock runs from the first request to the last ack at the store (a probe).
``worker_threads`` 0 is the gateway that waits for each call in its handler
(the one simulated venues keep); more is the venue worker.  The venue's own
order limits are lifted: the gateway's cost is measured, not Binance's
50 orders per 10 s.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from actors.assembly._report import latency_ms
from actors.core._exchange import PlaceRequest
from actors.core._types import Side
from actors.roles._addresses import GATEWAY, STORE
from actors.roles._gateway import ExchangeGateway
from actors.runtime import create_runtime
from actors.testing import Probe
from actors.testing._binance_venue_server import BinanceVenueServer
from actors.venues._binance import BinanceSpotVenue, Credentials
from actors.venues._binance_rules import Budget, Limit, SpotSymbol
from actors.venues._simulated import FakeExchangeClient
from actors.wire._codec import encode
from actors.wire._messages import GatewayReport, GatewayRequest, PlaceItem, VenueTick

_KEY, _SECRET = "bench-key-" + "0" * 54, "bench-secret-" + "1" * 51
_SYMBOLS = {"BTCUSDT": SpotSymbol("BTCUSDT", "BTC", "USDT", Decimal("0.01"), Decimal("0.00001"))}
_UNLIMITED = (Limit("REQUEST_WEIGHT", 60.0, 10**9), Limit("ORDERS", 10.0, 10**9))


def gateway_orders_per_s(delay_ms: float, worker_threads: int, requests: int = 20, places: int = 25) -> dict[str, Any]:
    """One run: orders/s from the first request to the last answer (acks, refusals, answers lost), acks counted."""
    server = BinanceVenueServer(FakeExchangeClient(seed=7, fill_rate=0.0), _SYMBOLS, api_key=_KEY, secret=_SECRET,
                                balances={"BTC": "1", "USDT": "100000000"}).start()  # fmt: skip
    server.answer_delay_s = delay_ms / 1000.0
    venue = BinanceSpotVenue(_SYMBOLS, Credentials(_KEY, _SECRET), base_url=server.rest_url,
                             stream_url=server.stream_url, budget=Budget(limits=_UNLIMITED))  # fmt: skip
    runtime = create_runtime("threads")
    try:
        runtime.spawn(Probe, STORE)
        runtime.spawn(ExchangeGateway, GATEWAY, venue, worker_threads=worker_threads)
        probe, gateway = runtime.last_instance(STORE), runtime.last_instance(GATEWAY)
        assert isinstance(probe, Probe) and isinstance(gateway, ExchangeGateway)
        total = requests * places
        started = time.perf_counter()
        for tick in range(1, requests + 1):
            items = tuple(PlaceItem(f"CLI{tick:04d}{n:04d}", "BTCUSDT", 1, 5_000_000 - n, 100) for n in range(places))
            runtime.tell(GATEWAY, encode(VenueTick(tick, 0)))
            runtime.tell(GATEWAY, encode(GatewayRequest(tick, (), items)))
        deadline, acked, answered = started + 120.0, 0, 0
        while answered < total and time.perf_counter() < deadline:
            time.sleep(0.001)
            reports = [r.message for r in list(probe.received) if isinstance(r.message, GatewayReport)]
            acked = sum(len(report.acks) for report in reports)
            answered = acked + sum(len(report.rejects) for report in reports) + gateway.core.lost_answers
        elapsed = time.perf_counter() - started
    finally:
        runtime.shutdown()
        venue.close()
        server.stop()
    return {
        "answer_delay_ms": delay_ms,
        "worker_threads": worker_threads,
        "orders": total,
        "acked": acked,
        "answered": answered,
        "seconds": round(elapsed, 3),
        "orders_per_s": round(answered / elapsed, 1),
    }


def gateway_venue(delay_ms: float) -> dict[str, Any]:
    """Blocking (no worker) and with workers of 4, 8 (the default), 16 and 64 threads, at one answer delay."""
    return {"cases": [gateway_orders_per_s(delay_ms, threads) for threads in (0, 4, 8, 16, 64)]}


def serve_until_stdin_closes() -> None:
    """A child process: the local server, its two URLs printed on a line, serving until its stdin closes."""
    import sys

    server = BinanceVenueServer(FakeExchangeClient(seed=7, fill_rate=0.0), _SYMBOLS, api_key=_KEY, secret=_SECRET,
                                balances={"BTC": "1", "USDT": "100000000"}).start()  # fmt: skip
    print(server.rest_url, server.stream_url, flush=True)
    sys.stdin.read()  # the parent is done when it closes our stdin
    server.stop()


def adapter_cost(orders: int) -> dict[str, Any]:
    """``bin/bench --venue-adapter N``: the adapter's own cost per order, the local server in another process.

    ``N`` placements and their cancels through ``BinanceSpotVenue``, one
    after the other: each call's time to its answer (p50, p99), and the CPU
    this process spent per order (place plus cancel: signing, the budget,
    the request, parsing the answer; the user stream's thread included),
    which the server's work, in its own process, is not part of.
    """
    import subprocess
    import sys

    code = "from actors.tools._gateway_bench import serve_until_stdin_closes as s; s()"
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    try:
        rest_url, stream_url = process.stdout.readline().split()
        venue = BinanceSpotVenue(_SYMBOLS, Credentials(_KEY, _SECRET), base_url=rest_url, stream_url=stream_url,
                                 budget=Budget(limits=_UNLIMITED))  # fmt: skip
        places: list[int] = []
        cancels: list[int] = []
        try:
            venue.place(PlaceRequest("WARM0001", "BTCUSDT", Side.BUY, 4_000_000, 100))  # a connection, before the clock
            cpu_started = time.process_time()
            for n in range(orders):
                started = time.perf_counter_ns()
                placed = venue.place(PlaceRequest(f"CLI{n:08d}", "BTCUSDT", Side.BUY, 5_000_000 - n % 1000, 100))
                placed_ns = time.perf_counter_ns()
                venue.cancel(placed.exchange_order_id or "")
                places.append(placed_ns - started)
                cancels.append(time.perf_counter_ns() - placed_ns)
            cpu = time.process_time() - cpu_started
        finally:
            venue.close()
    finally:
        process.stdin.close()
        process.wait(30)

    return {
        "orders": orders,
        "place_ms": latency_ms(places),
        "cancel_ms": latency_ms(cancels),
        "adapter_cpu_us_per_order": round(cpu / orders * 1e6, 1),
    }
