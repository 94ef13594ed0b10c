"""Giving memory back: after heavy work the process returns what it freed to the system.

CPython and glibc keep freed memory for reuse, and with many threads glibc spreads it over many arenas, so a
server that computed a few tables at once keeps its peak size long after. `Computations` counts the work in
progress; when the last one ends, cyclic garbage is collected and glibc is asked to return free pages
(`malloc_trim`). `limit_malloc_arenas` caps the arenas, which bounds that fragmentation in the first place.
Both are no-ops where glibc is absent.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_M_ARENA_MAX = -8  # mallopt parameter, from glibc's malloc.h


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
    """Counts heavy work in progress; memory is released when none is left."""

    def __init__(self) -> None:
        self.running = 0
        self._lock = threading.Lock()

    @contextmanager
    def running_one(self) -> Iterator[None]:
        with self._lock:
            self.running += 1
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
                idle = self.running == 0
            if idle:
                release_memory()
