"""The threads that compute: a fixed number, in arrival order, at a lower CPU priority than the server.

On a CPU, computations saturate the cores; the threads that answer requests (the server's event loop, cached
answers, file transfers) need little CPU but need it at once. Computing on threads of lower priority (a higher
nice value, Linux applies it per thread) lets the scheduler run those first, so cached answers do not wait for
computations to yield the cores. The threads are made for this and never serve anything else: an unprivileged
process cannot raise a thread's priority again once lowered.
"""
from __future__ import annotations

import contextvars
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
NICENESS = 10
"""How much lower the computing threads' priority is (nice increment): 10 gives them about a tenth of the CPU
share of a normal thread when both want it, and all of it when nothing else does."""


def share_cores(computations: int) -> int:
    """Give each of `computations` simultaneous CPU computations its share of the cores (torch's intra-op threads
    are one pool for the process): more threads than cores only makes them take turns. Returns the threads set."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // computations)
    torch.set_num_threads(threads)
    return threads


class Workers:
    """`run(fn)` computes `fn()` on one of `count` low-priority threads and returns its result (the caller
    waits). Calls beyond `count` wait in arrival order. A call made on a worker runs there directly. `fn` must
    not wait for a lock that a caller of `run` may hold (a model's lock): every worker could end up waiting."""

    def __init__(self, count: int, niceness: int = NICENESS) -> None:
        self.count = count
        self.niceness = niceness
        self._local = threading.local()
        self._tasks: queue.SimpleQueue[tuple[Callable[[], object], Future]] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    def _started(self) -> None:
        """Every thread, started on first use (all of them: each computation gets its own core)."""
        with self._start_lock:
            while len(self._threads) < self.count:
                t = threading.Thread(target=self._serve, name=f"lincae-compute-{len(self._threads)}", daemon=True)
                t.start()
                self._threads.append(t)

    def _serve(self) -> None:
        self._local.worker = True
        if self.niceness and sys.platform.startswith("linux"):  # elsewhere a thread id is no target of it
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)
            except OSError as err:  # computing still works, at the normal priority
                log.info("computing threads keep the normal priority (%s)", err)
        while True:
            fn, future = self._tasks.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as err:  # handed to the caller, who raises it
                    future.set_exception(err)

    def on_worker(self) -> bool:
        return getattr(self._local, "worker", False)

    def run(self, fn: Callable[[], T]) -> T:
        if self.on_worker():
            return fn()
        self._started()
        context = contextvars.copy_context()  # what the caller's thread knows (e.g. which request reports progress)
        future: Future = Future()
        self._tasks.put((lambda: context.run(fn), future))
        return future.result()
