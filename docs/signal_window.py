"""How long after its start a run can still be killed by SIGUSR1 (docs/RELIABILITY.md, "Signals").

Until a process has a handler, SIGUSR1's default action ends it.  This
starts each launcher many times and sends SIGUSR1 after a delay; a row says,
for each delay in milliseconds, how many of the tries the signal killed.
The delay counts from ``Popen`` returning, so it includes the interpreter's
own start.  Run from the repository: ``python docs/signal_window.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DELAYS_MS = (0, 10, 20, 30, 40, 50, 60, 80, 100, 150, 300)
TRIES = 6
LAUNCHERS = {
    "bin/run-shadow": [sys.executable, str(ROOT / "bin" / "run-shadow")],
    "python -m actors": [sys.executable, "-m", "actors"],
    "the engine imported first (python -m actors before)": [
        sys.executable,
        "-c",
        "import sys; from actors.cli._run_shadow import main; sys.exit(main())",
    ],
}


def main() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MM_")} | {"PYTHONPATH": str(ROOT)}
    for name, command in LAUNCHERS.items():
        row = []
        for delay_ms in DELAYS_MS:
            killed = 0
            for _ in range(TRIES):
                arguments = [*command, "--runtime", "sim", "--iterations", "2"]
                quiet = subprocess.DEVNULL
                process = subprocess.Popen(arguments, stdout=quiet, stderr=quiet, env=environ)
                time.sleep(delay_ms / 1000)
                process.send_signal(signal.SIGUSR1)
                killed += process.wait() == -signal.SIGUSR1
            row.append(f"{delay_ms}:{killed}/{TRIES}")
        print(f"{name}: {' '.join(row)}", flush=True)


if __name__ == "__main__":
    main()
