"""Two-level cache of named arrays: an in-memory LRU bounded in bytes over an on-disk content-addressed store.

An entry is a `dict[str, np.ndarray]` (a track table, a set of latents, one decoded signal). Keys come from
`cache_key(...)`: a hash of everything the result depends on (model name, weights hash, audio hash,
operation, parameters, seed), so a key never goes stale and nothing needs invalidating. On disk an entry is
a directory of `.npy` files, written under a temporary name and renamed into place, so a crash or a
concurrent writer never leaves a half-written entry behind.

Every disk read is checked (each file readable, the names the caller needs present, and whatever else the
caller's `valid` test says): a damaged entry — a 0-byte or truncated file, a missing array — is deleted and
reported as a miss, so the caller recomputes and rewrites it. Nothing about a failure is remembered.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import numpy as np

Entry = dict[str, np.ndarray]
Validator = Callable[[Entry], bool]
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
TEMP_MARK = ".tmp"
"""Every temporary file or folder the cache (and the cells written beside it) creates has this in its name,
so that what a killed process left behind can be recognised and swept."""


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

    def discard(self, key: str) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= entry_nbytes(old)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """Content-addressed entries under `root/<key[:2]>/<key>/<name>.npy`. Reading an entry marks it used (its
    folder's modification time), which is what the disk budget's least-recently-used eviction goes by."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key

    def get(self, key: str, names: Collection[str] = (), valid: Validator | None = None) -> Entry | None:
        """The entry, or None when it is absent or damaged (then it is deleted, to be rewritten)."""
        d = self.path(key)
        if not d.is_dir():
            return None
        try:
            entry = {p.stem: np.load(p, allow_pickle=False) for p in sorted(d.glob("*.npy"))}
            if set(names) - set(entry) or (valid is not None and not valid(entry)):
                raise ValueError("incomplete entry")
            os.utime(d)
        except (OSError, ValueError, EOFError):  # 0-byte (EOFError), truncated or missing files
            shutil.rmtree(d, ignore_errors=True)
            return None
        return entry

    def put(self, key: str, entry: Entry) -> int:
        """Write the entry (unless a valid one is there); returns the bytes written."""
        final = self.path(key)
        if final.is_dir() and self.get(key, names=entry) is not None:
            return 0  # same key, same content
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{key}{TEMP_MARK}."))
        try:
            for name, arr in entry.items():
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # else a concurrent writer got there first: theirs is as good
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return entry_nbytes(entry)


def sweep_temporary(root: str | Path, older_than: float = 60.0) -> int:
    """Delete temporary files and folders (names containing `TEMP_MARK`) under `root` that were last modified
    more than `older_than` seconds ago: what a process killed mid-write left. Returns how many went.
    (Younger ones may belong to a writer that is still running, e.g. a precompute beside the app.)"""
    root = Path(root)
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than
    swept = 0
    for path in list(_temporary(root)):
        try:
            if path.lstat().st_mtime > cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            swept += 1
        except FileNotFoundError:
            pass  # inside a folder swept a moment ago, or renamed into place meanwhile
    return swept


def _temporary(root: Path) -> Iterator[Path]:
    """Files and folders under `root` whose names hold `TEMP_MARK`, a temporary folder's contents not listed. A
    folder that vanishes while it is walked (a writer renamed it into place, the budget evicted it) is passed by."""
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk skips folders it can no longer list
        here = Path(dirpath)
        temporary = [d for d in dirnames if TEMP_MARK in d]
        dirnames[:] = [d for d in dirnames if TEMP_MARK not in d]
        yield from (here / name for name in (*temporary, *(f for f in filenames if TEMP_MARK in f)))


class TwoLevelCache:
    """Memory first, then disk (a disk hit is promoted to memory). `root=None` keeps memory only.

    `on_write(nbytes)` is called after each disk write (the disk budget listens)."""

    def __init__(self, root: str | Path | None, memory_bytes: int,
                 on_write: Callable[[int], object] | None = None) -> None:
        self.memory = MemoryLRU(memory_bytes)
        self.disk = DiskCache(root) if root is not None else None
        self.on_write = on_write

    def get(self, key: str, names: Collection[str] = (), valid: Validator | None = None) -> Entry | None:
        """The entry if it is cached and complete: every name in `names` present and `valid(entry)` true."""
        entry = self.memory.get(key)
        if entry is not None:
            if not set(names) - set(entry) and (valid is None or valid(entry)):
                return entry
            self.memory.discard(key)
        if self.disk is not None:
            entry = self.disk.get(key, names, valid)
            if entry is not None:
                entry = _frozen(entry, copy=False)
                self.memory.put(key, entry)
        return entry

    def put(self, key: str, entry: Entry) -> Entry:
        """Store and return the read-only entry that later `get`s will see."""
        entry = _frozen(entry)
        if self.disk is not None:
            written = self.disk.put(key, entry)
            if written and self.on_write is not None:
                self.on_write(written)
        self.memory.put(key, entry)
        return entry
