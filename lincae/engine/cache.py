"""Two-level cache of named arrays: an in-memory LRU bounded in bytes over an on-disk content-addressed store.

An entry is a `dict[str, np.ndarray]` (a track table, a set of latents, one decoded signal). Keys come from
`cache_key(...)`: a hash of everything the result depends on (model name, weights hash, audio hash,
operation, parameters, seed), so a key never goes stale and nothing needs invalidating. On disk an entry is
a directory of `.npy` files, written under a temporary name and renamed into place, so a crash or a
concurrent writer never leaves a half-written entry behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

Entry = dict[str, np.ndarray]
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def cache_key(**parts) -> str:
    """A stable hex digest of JSON-serialisable parts (order of keyword arguments does not matter)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _frozen(entry: Entry, copy: bool = True) -> Entry:
    """Read-only arrays, so that a caller cannot corrupt what the cache hands to the next one."""
    out = {}
    for name, arr in entry.items():
        if not _NAME.match(name):
            raise ValueError(f"cache entry names must be plain file names, got {name!r}")
        a = np.array(arr, copy=True) if copy and np.asarray(arr).flags.writeable else np.asarray(arr)
        a.flags.writeable = False
        out[name] = a
    return out


def entry_nbytes(entry: Entry) -> int:
    return sum(a.nbytes for a in entry.values())


class MemoryLRU:
    """Thread-safe LRU whose bound is the total size of the arrays it holds."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry) -> None:
        size = entry_nbytes(entry)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= entry_nbytes(old)
            if size > self.max_bytes:
                return  # larger than the whole budget: keep it on disk only
            self._items[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= entry_nbytes(evicted)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """Content-addressed entries under `root/<key[:2]>/<key>/<name>.npy`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str) -> Entry | None:
        d = self.path(key)
        if not d.is_dir():
            return None
        try:
            return {p.stem: np.load(p, allow_pickle=False) for p in sorted(d.glob("*.npy"))}
        except (OSError, ValueError):
            shutil.rmtree(d, ignore_errors=True)  # unreadable entry: a miss, rewritten by the next put
            return None

    def put(self, key: str, entry: Entry) -> None:
        final = self.path(key)
        if final.is_dir():
            return  # same key, same content
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key}."))
        try:
            for name, arr in entry.items():
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # else a concurrent writer got there first: theirs is as good
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class TwoLevelCache:
    """Memory first, then disk (a disk hit is promoted to memory). `root=None` keeps memory only."""

    def __init__(self, root: str | Path | None, memory_bytes: int) -> None:
        self.memory = MemoryLRU(memory_bytes)
        self.disk = DiskCache(root) if root is not None else None

    def get(self, key: str) -> Entry | None:
        entry = self.memory.get(key)
        if entry is not None:
            return entry
        if self.disk is not None:
            entry = self.disk.get(key)
            if entry is not None:
                entry = _frozen(entry, copy=False)
                self.memory.put(key, entry)
        return entry

    def put(self, key: str, entry: Entry) -> Entry:
        """Store and return the read-only entry that later `get`s will see."""
        entry = _frozen(entry)
        if self.disk is not None:
            self.disk.put(key, entry)
        self.memory.put(key, entry)
        return entry
