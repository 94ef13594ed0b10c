"""Under load the API answers what is cached at once, computes a bounded number of requests in arrival order,
and tells the rest to retry when too many wait: through the served app and `gradio_client`, and on the parts."""
from __future__ import annotations

import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import numpy as np
import pytest
from gradio_client import Client, handle_file

from engine_fakes import IdentityAE
from lincae.engine import Engine
from lincae.engine.workers import Workers
from test_app import info
from ui.api import ANSWER_FETCH_SECONDS, ANSWER_SECONDS, API_COMPUTE_SLOTS, sweep_answers
from ui.compute_queue import Busy, ComputeQueue
from upload_files import served_app, stem_files, tone, write

GATED = [f"gated{i}" for i in range(API_COMPUTE_SLOTS)]


class Gated(IdentityAE):
    """Decodes only while `open` is set, and says when a decode has begun: a computation that lasts as long as
    the test wants."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.open = threading.Event()
        self.open.set()
        self.decoding = threading.Event()

    def decode(self, z, length, seed=None):
        self.decoding.set()
        assert self.open.wait(timeout=45)
        return super().decode(z, length, seed)


def new_stems(folder: Path, freq: float) -> dict:
    return {s: handle_file(str(write(folder / f"{s}.wav", tone(freq * (i + 1), 0.3)))) for i, s in
            enumerate(("vocals", "drums", "bass", "other"))}


def test_a_cached_answer_is_served_while_every_compute_slot_is_held(tmp_path):
    models = {"linear": IdentityAE("linear"), **{name: Gated(name) for name in GATED}}
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: models[name])
    with served_app(tmp_path, engine=engine, models=[info(name) for name in models]) as (url, _):
        song = {s: handle_file(str(p)) for s, p in stem_files(tmp_path / "song", seconds=0.3).items()}
        Client(url, verbose=False).predict(**song, model="linear", api_name="/process_stems")  # now cached

        for m in GATED:
            models[m].open.clear()
        requests = [(m, new_stems(tmp_path / f"new{i}", 200.0 + 50 * i)) for i, m in enumerate(GATED * 2)]
        pool = ThreadPoolExecutor(len(requests))
        busy = [pool.submit(Client(url, verbose=False).predict, **files, model=m, api_name="/process_stems")
                for m, files in requests]
        try:
            for m in GATED:  # every slot computes (and the second request for each model waits its turn)
                assert models[m].decoding.wait(timeout=60), f"{m} never started"
            paths, summary = Client(url, verbose=False).predict(**song, model="linear", api_name="/process_stems")
            assert summary["model"] == "linear" and len(paths) == len(summary["rows"])
            assert not any(f.done() for f in busy), "the computations cannot have finished: their decoders wait"
        finally:
            for m in GATED:
                models[m].open.set()
        for f in busy:
            _, computed = f.result(timeout=120)
            assert computed["metrics"]["recon_spectral_snr"] is not None
        pool.shutdown()


def queue_under_load(slots: int, max_waiting: int, calls: int) -> tuple[list[int], int, list[str]]:
    """`calls` computations that arrive one after the other and last until all have arrived: the order in which
    they ran, the most that ran at once, and the refusals."""
    gate = threading.Event()
    order: list[int] = []
    running: list[int] = []
    most = [0]

    def work(i: int) -> None:
        running.append(i)
        most[0] = max(most[0], len(running))
        assert gate.wait(timeout=30)
        order.append(i)
        running.remove(i)

    async def main() -> list[str]:
        queue = ComputeQueue(slots, max_waiting)
        refused: list[str] = []

        async def call(i: int) -> None:
            try:
                await queue.run(lambda: work(i))
            except Busy as err:
                refused.append(str(err))

        async with anyio.create_task_group() as tg:
            for i in range(calls):
                tg.start_soon(call, i)
                while queue.running + queue.waiting + len(refused) <= i:  # it has arrived before the next one
                    await anyio.sleep(0.005)
            assert queue.running == slots and queue.waiting == max_waiting
            gate.set()
        return refused

    refused = anyio.run(main)
    return order, most[0], refused


def test_computations_run_a_few_at_a_time_in_arrival_order_and_too_many_waiting_are_told_to_retry():
    order, most, refused = queue_under_load(slots=1, max_waiting=3, calls=5)
    assert order == [0, 1, 2, 3] and most == 1  # first come, first served
    assert len(refused) == 1 and "busy" in refused[0] and "retry" in refused[0]
    order, most, refused = queue_under_load(slots=2, max_waiting=2, calls=6)
    assert sorted(order) == [0, 1, 2, 3] and most == 2 and len(refused) == 2


def test_the_api_says_busy_and_retry_when_its_queue_is_full(tmp_path, monkeypatch):
    monkeypatch.setattr("ui.api.API_MAX_WAITING", 0)  # every computation beyond the slots is refused
    models = {name: Gated(name) for name in GATED}
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: models[name])
    with served_app(tmp_path, engine=engine, models=[info(name) for name in models]) as (url, _):
        for m in GATED:
            models[m].open.clear()
        pool = ThreadPoolExecutor(len(GATED))
        busy = [pool.submit(Client(url, verbose=False).predict, **new_stems(tmp_path / f"n{i}", 300.0 + 40 * i),
                            model=m, api_name="/process_stems") for i, m in enumerate(GATED)]
        try:
            for m in GATED:
                assert models[m].decoding.wait(timeout=60)
            with pytest.raises(Exception, match="busy.*retry"):
                Client(url, verbose=False).predict(**new_stems(tmp_path / "late", 700.0), model=GATED[0],
                                                   api_name="/process_stems")
        finally:
            for m in GATED:
                models[m].open.set()
        for f in busy:
            f.result(timeout=120)
        pool.shutdown()


def test_computing_threads_take_work_in_order_at_a_lower_priority_and_nest_without_waiting():
    workers = Workers(1, niceness=5)
    assert workers.run(lambda: workers.run(lambda: 7)) == 7  # a call from a worker runs there: no deadlock
    if sys.platform.startswith("linux"):
        nice = workers.run(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        assert nice == os.getpriority(os.PRIO_PROCESS, 0) + 5 or nice == 19
    with pytest.raises(ZeroDivisionError):
        workers.run(lambda: 1 / 0)
    done: list[int] = []
    callers = [threading.Thread(target=lambda i=i: workers.run(lambda: done.append(i))) for i in range(5)]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=30)
    assert sorted(done) == list(range(5)) and not workers.on_worker()
    assert np.isfinite(workers.run(lambda: float(np.sum(np.ones(3)))))


def test_answers_not_handed_out_for_a_while_are_swept(tmp_path):
    old, recent = tmp_path / "old", tmp_path / "recent"
    for folder in (old, recent):
        folder.mkdir()
        for name in ("a.wav", "b.wav"):
            (folder / name).write_bytes(b"x")
    ago = time.time() - ANSWER_SECONDS - 5
    for f in old.iterdir():
        os.utime(f, (ago, ago))
    os.utime(recent / "a.wav", (ago, ago))  # its other file was handed out just now
    assert sweep_answers(tmp_path) == 1
    assert not old.exists() and sorted(p.name for p in recent.iterdir()) == ["a.wav", "b.wav"]


def test_answers_beyond_the_byte_budget_go_least_recently_handed_out_first(tmp_path):
    now = time.time()
    ages = {"oldest": 300, "older": 200, "fetching": ANSWER_FETCH_SECONDS / 2}  # all younger than ANSWER_SECONDS
    for name, age in ages.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "a.wav").write_bytes(b"x" * 1000)
        os.utime(folder / "a.wav", (now - age, now - age))
    assert sweep_answers(tmp_path, max_bytes=2500) == 1  # the oldest goes: 2000 bytes fit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fetching", "older"]
    assert sweep_answers(tmp_path, max_bytes=500) == 1  # over budget, but one being fetched stays
    assert [p.name for p in tmp_path.iterdir()] == ["fetching"]
