"""The first track's table, computed ahead of the first visitor while Gradio is imported and the page is built.

With the engine on the CPU and no other thread running yet (Linux and macOS), it is computed in a forked copy of
the process: as a thread it would take turns for the interpreter lock with the import, which holds it almost
throughout, and take about twice as long (docs/BENCHMARKS.md). The copy writes the table into the engine's disk
cache (atomic writes, as for any process sharing the folder) and exits; the server reads it from there.
Elsewhere (a GPU, whose state a fork cannot share, or threads already running) a thread computes it.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

from ui.tables import TableBuilder, TableUpdate

log = logging.getLogger(__name__)

POLL_S = 0.005


class FirstTable:
    """`FirstTable.start(builder, track_id)`, then `result(wait_s)` once the page is built."""

    def __init__(self, builder: TableBuilder, track_id: str) -> None:
        self.builder = builder
        self.track_id = track_id
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, builder: TableBuilder, track_id: str) -> FirstTable:
        first = cls(builder, track_id)
        if hasattr(os, "fork") and threading.active_count() == 1 and builder.engine.device.type == "cpu":
            first._pid = os.fork()
            if first._pid == 0:  # the copy: compute, then leave without running the server's exit handlers
                code = 1
                try:
                    builder.warm(track_id)
                    code = 0
                except BaseException:
                    log.exception("the first table (%s) could not be computed ahead", track_id)
                finally:
                    os._exit(code)
        else:
            first._in_thread()
        return first

    def _in_thread(self) -> None:
        self._thread = threading.Thread(target=self.builder.warm, args=(self.track_id,), daemon=True)
        self._thread.start()

    def result(self, wait_s: float) -> TableUpdate | None:
        """The finished table, waiting at most `wait_s` seconds for it; None if it is not ready by then. A copy
        still computing then is stopped and a thread goes on from what it cached (whole models are kept)."""
        if self._pid is None:
            if self._thread is not None:
                self._thread.join(wait_s)
            return self.builder.remembered(self.track_id)
        pid, self._pid = self._pid, None
        if not _exited(pid, wait_s):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        table = self.builder.cached(self.track_id)
        if table is None:  # not finished, or a model failed: the page's request shows why
            self._in_thread()
        return table


def _exited(pid: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while os.waitpid(pid, os.WNOHANG)[0] == 0:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True
