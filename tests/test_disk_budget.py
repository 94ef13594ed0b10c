"""The cache folder stays within its budget by deleting what was used least recently; memory is given back."""
from __future__ import annotations

import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lincae.engine.cache import TwoLevelCache
from lincae.engine import Engine
from lincae.engine.disk_budget import DiskBudget
from lincae.settings import from_environment
from lincae.engine.memory import Computations, release_memory


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def aged(path: Path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


def test_entries_and_files_beyond_the_budget_go_least_recently_used_first(tmp_path):
    budget = DiskBudget(tmp_path, max_bytes=10**9, min_idle=0)
    cache = TwoLevelCache(tmp_path, memory_bytes=0, on_write=budget.wrote)
    keys = [f"{i:02x}" * 16 for i in range(6)]
    for i, key in enumerate(keys):
        cache.put(key, {"a": np.zeros(5000, dtype=np.float32)})  # ~20 kB each
        aged(cache.disk.path(key), 600 - i)
    wav = tmp_path / "cells" / "wav" / "ab" / "cell.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"x" * 20_000)
    aged(wav, 1000)  # the oldest of all
    assert cache.get(keys[0]) is not None  # reading an entry makes it the most recently used
    budget.max_bytes = 100_000
    budget.enforce()
    assert folder_bytes(tmp_path) <= 90_000
    assert not wav.exists() and not cache.disk.path(keys[1]).exists()
    assert cache.disk.path(keys[0]).exists() and cache.disk.path(keys[5]).exists()


def test_a_write_that_may_exceed_the_budget_triggers_eviction(tmp_path):
    budget = DiskBudget(tmp_path, max_bytes=50_000, min_idle=0, rescan_s=3600)
    cache = TwoLevelCache(tmp_path, memory_bytes=0, on_write=budget.wrote)
    for i in range(10):
        cache.put(f"{i:02x}" * 16, {"a": np.full(5000, i, dtype=np.float32)})
    assert folder_bytes(tmp_path) <= 50_000
    assert cache.get("09" * 16)["a"][0] == 9  # the newest survives


def test_recently_used_files_are_kept_even_over_budget(tmp_path):
    budget = DiskBudget(tmp_path, max_bytes=1_000, min_idle=120)
    (tmp_path / "fresh.wav").write_bytes(b"x" * 5_000)
    assert budget.enforce() == 5_000 and (tmp_path / "fresh.wav").exists()


def test_budget_setting_reaches_the_engine(tmp_path):
    settings = from_environment({"LINCAE_CACHE_GB": "0.5", "LINCAE_CACHE_DIR": str(tmp_path)})
    assert Engine.from_settings(replace(settings, device="cpu")).disk_budget.max_bytes == 500_000_000
    assert from_environment({}).cache_gb == 2.0
    for bad in ("lots", "0", "-1"):
        with pytest.raises(ValueError, match="LINCAE_CACHE_GB"):
            from_environment({"LINCAE_CACHE_GB": bad})


def test_memory_is_released_once_no_computation_has_run_for_a_while():
    released = threading.Event()
    work = Computations(idle_seconds=0.3, release=released.set)
    with work.running_one():
        with work.running_one():
            pass
        assert not released.wait(0.5)  # one still running
    with work.running_one():  # computations that follow each other: no release between them
        assert not released.wait(0.5)
    assert not released.is_set() and work.running == 0
    assert released.wait(5)  # idle long enough
    release_memory()  # the real one runs anywhere
