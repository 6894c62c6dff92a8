"""`serve --train-every`: `likewise train --tune` on a schedule, in a child process.

Training runs outside the server's process, so requests never wait on it (nor on the GIL it
would hold); the server swaps to the new model when it sees the store's model version change
(checked every `reload_seconds`), in one assignment, between requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

__all__ = ["Retrainer"]

MODULE = "likewise.cli.main"


class Retrainer:
    """Runs `likewise train --tune` on the store at `data` every `every` seconds until stopped."""

    def __init__(self, data: str, every: float) -> None:
        self.data = data
        self.every = every
        self.runs = 0
        self._stop = threading.Event()
        self._child: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._loop, name="likewise-retrain", daemon=True)

    def start(self) -> Retrainer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the schedule; a training under way is ended (it writes nothing half: the
        model's version is written last, and the next run starts over)."""
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            started = time.monotonic()
            command = [sys.executable, "-m", MODULE, "train", "--tune"]
            env = {**os.environ, "LIKEWISE_DATA": self.data}  # not argv: `ps` shows argv
            with subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
            ) as child:
                self._child = child
                out, err = child.communicate()
            if self._stop.is_set():
                return
            done = subprocess.CompletedProcess(command, child.returncode, out, err)
            self.runs += 1
            seconds = time.monotonic() - started
            if done.returncode == 0:
                first = (done.stdout.strip().splitlines() or [""])[0]
                print(f"likewise: retrained in {seconds:.1f} s: {first}", file=sys.stderr)
            else:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"likewise: retraining failed ({done.returncode}): {last}", file=sys.stderr)
