import threading

import numpy as np
import pytest

from lincae.engine.cache import DiskCache, MemoryLRU, TwoLevelCache, cache_key


def entry(n: int, fill: float = 1.0) -> dict:
    return {"a": np.full(n, fill, dtype=np.float32)}  # 4·n bytes


def test_key_is_order_independent_and_sensitive_to_every_part():
    base = dict(model="m", weights="w", audio="h", op="table", seed=0)
    assert cache_key(**base) == cache_key(**dict(reversed(base.items())))
    for part, other in [("model", "m2"), ("weights", "w2"), ("audio", "h2"), ("op", "latents"), ("seed", 1)]:
        assert cache_key(**{**base, part: other}) != cache_key(**base)


def test_lru_is_bounded_in_bytes_and_evicts_least_recently_used():
    lru = MemoryLRU(max_bytes=400)
    lru.put("x", entry(40))  # 160 B
    lru.put("y", entry(40))
    assert lru.get("x") is not None  # x is now the most recent
    lru.put("z", entry(40))  # 480 B > 400: evict y
    assert "y" not in lru and "x" in lru and "z" in lru
    assert lru.nbytes == 320


def test_lru_skips_an_entry_larger_than_its_budget_and_replaces_same_key():
    lru = MemoryLRU(max_bytes=100)
    lru.put("big", entry(100))
    assert len(lru) == 0 and lru.nbytes == 0
    lru.put("k", entry(10))
    lru.put("k", entry(20))
    assert lru.nbytes == 80 and len(lru) == 1


def test_disk_round_trip_and_atomic_layout(tmp_path):
    disk = DiskCache(tmp_path)
    disk.put("abcd" * 8, {"x": np.arange(5, dtype=np.float32), "flags": np.array([True, False])})
    got = disk.get("abcd" * 8)
    np.testing.assert_array_equal(got["x"], np.arange(5))
    assert got["flags"].dtype == bool
    assert [p.name for p in (tmp_path / "ab").iterdir()] == ["abcd" * 8]  # no temporary leftovers
    assert disk.get("ffff" * 8) is None


def test_a_corrupt_disk_entry_is_a_miss_and_gets_rewritten(tmp_path):
    disk = DiskCache(tmp_path)
    key = "ab" * 16
    disk.put(key, entry(3))
    (disk.path(key) / "a.npy").write_bytes(b"garbage")
    assert disk.get(key) is None
    disk.put(key, entry(3, 2.0))
    np.testing.assert_array_equal(disk.get(key)["a"], [2.0, 2.0, 2.0])


def test_concurrent_writers_of_one_key_leave_one_valid_entry(tmp_path):
    disk = DiskCache(tmp_path)
    key = "cd" * 16
    threads = [threading.Thread(target=disk.put, args=(key, entry(1000))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(disk.get(key)["a"], np.ones(1000))
    assert len(list((tmp_path / "cd").iterdir())) == 1


def test_two_levels_promote_disk_hits_and_freeze_values(tmp_path):
    cache = TwoLevelCache(tmp_path, memory_bytes=1 << 20)
    original = entry(10)
    stored = cache.put("k" * 32, original)
    original["a"][0] = 99  # the caller's array is not the cached one
    assert stored["a"][0] == 1.0
    with pytest.raises(ValueError):
        stored["a"][0] = 5
    fresh = TwoLevelCache(tmp_path, memory_bytes=1 << 20)
    assert "k" * 32 not in fresh.memory
    assert fresh.get("k" * 32)["a"][0] == 1.0
    assert "k" * 32 in fresh.memory


def test_names_must_be_file_names(tmp_path):
    with pytest.raises(ValueError):
        TwoLevelCache(tmp_path, 1 << 20).put("k" * 32, {"../x": np.zeros(1)})


def test_memory_only_cache(tmp_path):
    cache = TwoLevelCache(None, memory_bytes=1 << 20)
    cache.put("k" * 32, entry(3))
    assert cache.get("k" * 32) is not None and not any(tmp_path.iterdir())
