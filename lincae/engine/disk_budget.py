"""A bound on the bytes the cache folder holds, enforced by deleting what was used least recently.

Everything under the cache root counts: the engine's entries (`<2 hex>/<key>/`, one unit each) and any other
file (cells' WAVs, API outputs; one unit each). "Used" is a unit's modification time, which readers refresh
(`DiskCache.get`, `touch`). Units used within the last `min_idle` seconds are never evicted, so a file a page is
about to fetch stays; if the rest does not free enough, the folder stays over budget until they age.

Scans are throttled: after a write, the folder is rescanned when the bytes written since the last scan could
exceed the budget or when the last scan is older than `rescan_s`. Temporary leftovers are swept at each scan.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lincae.engine.cache import sweep_temporary

log = logging.getLogger(__name__)

_ENTRY_SHARD = re.compile(r"^[0-9a-f]{2}$")
_LOW_WATER = 0.9  # evict down to this fraction of the budget, so that eviction is not needed at every write
MIN_IDLE_S = 120.0
"""Default `min_idle`: a unit used this recently is never evicted."""


@dataclass(frozen=True)
class _Unit:
    path: Path
    nbytes: int
    used: float


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def _units(root: Path) -> list[_Unit]:
    """Everything that can be evicted on its own, with its size and when it was last used."""
    units = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        try:
            if here.parent == root and _ENTRY_SHARD.match(here.name):
                for name in dirnames:  # engine entries: one folder each
                    entry = here / name
                    units.append(_Unit(entry, _size(entry), entry.stat().st_mtime))
                dirnames.clear()
            for name in filenames:
                path = here / name
                st = path.stat()
                units.append(_Unit(path, st.st_size, st.st_mtime))
        except FileNotFoundError:
            continue  # removed while we looked: it no longer counts
    return units


def touch(path: str | Path) -> None:
    """Mark a file as used now (for least-recently-used eviction); a missing file is ignored."""
    try:
        os.utime(path)
    except FileNotFoundError:
        pass


class DiskBudget:
    """Keeps `root` under `max_bytes` (see the module note). Thread-safe; cheap to call after every write."""

    def __init__(self, root: str | Path, max_bytes: int, min_idle: float = MIN_IDLE_S, rescan_s: float = 60.0) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.min_idle = min_idle
        self.rescan_s = rescan_s
        self.used_bytes = 0
        self._written_since_scan = 0
        self._last_scan = 0.0
        self._lock = threading.Lock()

    def wrote(self, nbytes: int) -> None:
        """Note a write; rescan and evict when the budget may be exceeded or the last scan is old."""
        with self._lock:
            self._written_since_scan += nbytes
            due = (self.used_bytes + self._written_since_scan > self.max_bytes
                   or time.monotonic() - self._last_scan > self.rescan_s)
        if due:
            self.enforce()

    def enforce(self) -> int:
        """Sweep temporary leftovers, then delete least recently used units until the folder is at most 90 %
        of the budget. Returns the bytes the folder holds afterwards."""
        with self._lock:
            sweep_temporary(self.root)
            units = _units(self.root)
            total = sum(u.nbytes for u in units)
            if total > self.max_bytes:
                total = self._evict(units, total)
            self.used_bytes, self._written_since_scan, self._last_scan = total, 0, time.monotonic()
            return total

    def _evict(self, units: list[_Unit], total: int) -> int:
        target = int(self.max_bytes * _LOW_WATER)
        recent = time.time() - self.min_idle
        freed = 0
        for unit in sorted(units, key=lambda u: u.used):
            if total - freed <= target or unit.used > recent:
                break
            try:
                shutil.rmtree(unit.path) if unit.path.is_dir() else unit.path.unlink()
            except FileNotFoundError:
                pass
            freed += unit.nbytes
        log.info("cache over its %.2f GB budget: %.1f MB of least recently used files deleted",
                 self.max_bytes / 1e9, freed / 1e6)
        return total - freed
