"""Giving memory back: after heavy work the process returns what it freed to the system.

CPython and glibc keep freed memory for reuse, and with many threads glibc spreads it over many arenas, so a
server that computed a few tables at once keeps its peak size long after. `Computations` counts the work in
progress; when none has run for `IDLE_SECONDS`, cyclic garbage is collected and glibc is asked to return free
pages (`malloc_trim`). Not at once: a collection holds the interpreter lock, and under load, when computations
follow each other, it would stall every request the server is answering. `limit_malloc_arenas` caps the
arenas, which bounds the fragmentation in the first place. The glibc parts are no-ops where glibc is absent.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h
IDLE_SECONDS = 5.0
"""How long no computation must have run before memory is handed back."""


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - both exist only in glibc
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _glibc()


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas at `n` (call early, before many threads allocate). True if applied."""
    return bool(_LIBC is not None and _LIBC.mallopt(_M_ARENA_MAX, n))


def release_memory() -> None:
    """Collect garbage and hand free heap pages back to the system."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class Computations:
    """Counts heavy work in progress; memory is released once none has run for `idle_seconds`."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS, release: Callable[[], None] | None = None) -> None:
        self.running = 0
        self.idle_seconds = idle_seconds
        self._release = release or release_memory
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @contextmanager
    def running_one(self) -> Iterator[None]:
        with self._lock:
            self.running += 1
            if self._timer is not None:  # busy again: the release waits for the next idle spell
                self._timer.cancel()
                self._timer = None
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
                if self.running == 0:
                    self._timer = threading.Timer(self.idle_seconds, self._release_if_idle)
                    self._timer.daemon = True
                    self._timer.start()

    def _release_if_idle(self) -> None:
        with self._lock:
            if self.running or threading.current_thread() is not self._timer:  # busy again, or a newer timer
                return
            self._timer = None
        self._release()
