"""Measure a live run's message-to-order latency at N symbols, fed by the local Binance server (docs/LIVE.md).

``python -m tests.e2e.live_latency --symbols 100`` starts the server, runs
``bin/run-shadow --market live:binance:...`` against it for ``--iterations``
ticks while the server sends ``--rate`` messages a second spread over the
symbols (in chunks every ``--every-ms``, 10 unless set), and prints the report's ``latency`` section;
``--live-decide message`` measures the mode deciding by message.  Not a test: the
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from actors.testing._binance_stream_server import BinanceStreamServer, generated
from tests.e2e.run_kit import environ

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--tick-ms", type=float, default=100.0)
    parser.add_argument("--rate", type=int, default=2000, help="messages a second, over all symbols")
    parser.add_argument("--every-ms", type=float, default=10.0, help="the server sends a chunk this often")
    parser.add_argument("--live-decide", default="tick", choices=("tick", "message"))
    parser.add_argument("--runtime", choices=("threads", "pool"), help="the run's own default if not given")
    args = parser.parse_args()
    names = [f"SYM{number:05d}" for number in range(1, args.symbols + 1)]
    with tempfile.TemporaryDirectory() as scratch, BinanceStreamServer() as server:
        instruments = Path(scratch) / "instruments.toml"
        instruments.write_text("".join(f'[{n}]\ntick_size = "0.01"\nlot_size = "0.001"\n' for n in names))
        opening = [(f"{n.lower()}@bookTicker", {"u": 0, "s": n, "b": "99.99", "B": "5", "a": "100.01", "A": "5"})
                   for n in names]  # fmt: skip
        stream = generated(names, 10**9, seed=1, start_price=100.0)
        command = [sys.executable, str(ROOT / "bin" / "run-shadow"), "--market", "live:binance:" + ",".join(names),
                   "--instruments", str(instruments), "--live-ws-url", server.url, "--live-rest-url", server.rest_url,
                   "--tick-ms", str(args.tick_ms), "--iterations", str(args.iterations), "--edge-threshold", "-100",
                   "--spread-bps", "2", "--live-decide", args.live_decide,
                   *(["--runtime", args.runtime] if args.runtime else [])]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ())
        done = threading.Event()
        err: list[str] = []
        threading.Thread(target=lambda: (err.append(process.stderr.read() if process.stderr else ""), done.set()),
                         daemon=True).start()  # fmt: skip
        while not any(server.subscriptions()):
            time.sleep(0.01)
        server.replay(opening)
        began, sent = time.monotonic(), 0
        while process.poll() is None:  # what is due at --rate since the start, every --every-ms (late sleeps catch up)
            due = int(args.rate * (time.monotonic() - began))
            server.replay([next(stream) for _ in range(due - sent)])
            sent = max(sent, due)
            time.sleep(args.every_ms / 1000)
        sent_per_s = round(sent / (time.monotonic() - began))
        out = process.stdout.read() if process.stdout else ""
        done.wait(10)
    if process.returncode != 0:
        sys.exit(f"run-shadow exited {process.returncode}: {''.join(err)[-2000:]}")
    report = json.loads(out)
    print(json.dumps({"symbols": args.symbols, "latency": report["latency"], "ticks": report["execution"]["ticks"],
                      "frames": report["live"]["stream"]["frames"], "placed": report["orders"]["placed"],
                      "decide": report["live"].get("decide", {"by": "tick"}), "sent_per_s": sent_per_s}))  # fmt: skip


if __name__ == "__main__":
    main()
