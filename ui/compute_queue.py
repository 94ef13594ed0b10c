"""A fair queue for the computations of async handlers.

At most `slots` computations run at once, each in a worker thread; the others wait in arrival order inside the
event loop, holding no thread, so a handler with nothing to compute (a cached answer) is never behind them. Beyond
`max_waiting` waiting requests, a new one is told at once that the server is busy and to retry.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")


class Busy(Exception):
    """Too many computations are waiting already."""


class ComputeQueue:
    def __init__(self, slots: int, max_waiting: int) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self.waiting = 0
        self.running = 0
        self._limiter: anyio.CapacityLimiter | None = None  # made in the server's event loop, on first use

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()` in a worker thread once a slot is free (first come, first served). Raises `Busy` when
        `max_waiting` requests are waiting already."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.slots)  # wakes waiters in arrival order
        if self.running >= self.slots and self.waiting >= self.max_waiting:
            raise Busy(f"The server is busy: {self.waiting} computations are waiting for a free slot. "
                       "Please retry in a minute.")
        self.waiting += 1
        try:
            await self._limiter.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await anyio.to_thread.run_sync(fn)
        finally:
            self.running -= 1
            self._limiter.release()
