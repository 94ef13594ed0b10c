"""A cached table never waits for computations; computations beyond the slots wait their turn and say so."""
from __future__ import annotations

import threading
import time

from engine_fakes import IdentityAE
from lincae.engine import Engine
from test_app import info, make_track
from ui.tables import COMPUTE_SLOTS, TableBuilder


class Gated(IdentityAE):
    """Decodes only while `open` is set: a computation that takes as long as the test wants."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.open = threading.Event()
        self.open.set()

    def decode(self, z, length, seed=None):
        assert self.open.wait(timeout=60)
        return super().decode(z, length, seed)


def test_a_cached_table_is_served_while_every_slot_computes(tmp_path):
    model = Gated("gated")
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: model)
    tracks = {f"t{i}": make_track(f"t{i}", 0.2 + 0.05 * i) for i in range(COMPUTE_SLOTS + 2)}
    builder = TableBuilder(engine, [info("gated")], tracks.__getitem__, cells_dir=tmp_path / "cells")
    list(builder.updates("t0"))  # cached before the others start
    builder._finished.clear()  # served from the engine's cache, not from memory

    model.open.clear()
    busy = [threading.Thread(target=builder.warm, args=(f"t{i}",)) for i in range(1, COMPUTE_SLOTS + 1)]
    for t in busy:
        t.start()
    waiting: list[str] = []
    late = threading.Thread(target=lambda: waiting.extend(u.status for u in builder.updates(f"t{COMPUTE_SLOTS + 1}")))
    time.sleep(0.5)  # the busy tables hold every slot (one decodes, the others wait for the model)
    late.start()
    try:
        start = time.perf_counter()
        served = list(builder.updates("t0"))
        elapsed = time.perf_counter() - start
        assert len(served) == 1 and served[0].done
        assert elapsed < 2.0, f"the cached table waited {elapsed:.1f} s"
    finally:
        model.open.set()
        for t in [*busy, late]:
            t.join(timeout=60)
    assert waiting[0].startswith("Waiting for a free slot") and "Ready" in waiting[-1]
