"""A damaged cache heals itself: every damaged or missing file is a miss that is recomputed and rewritten, and
the next request gets the complete, correct table — after a kill -9 mid-table too."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf

from engine_fakes import IdentityAE, NoisyAE
from lincae.engine import MODEL_ROWS, Engine
from lincae.engine.cache import TEMP_MARK, sweep_temporary
from test_app import info, make_track
from ui.tables import TableBuilder

TESTS = Path(__file__).resolve().parent


class FailsOnce(IdentityAE):
    """Fails its first decode (a passing problem), then works."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.failed = False

    def decode(self, z, length, seed=None):
        if not self.failed:
            self.failed = True
            raise RuntimeError("temporary failure")
        return super().decode(z, length, seed)


def make_builder(root: Path, *models, fingerprinted: bool = False) -> TableBuilder:
    """A table builder on `root`; `fingerprinted`: its engine knows the weights' identity without loading them
    (as the registry's models do), so it reads cached tables without loading a model."""
    models = models or (IdentityAE("linear"), NoisyAE("noisy"))
    by_name = {m.name: m for m in models}
    engine = Engine(device="cpu", cache_dir=root / "cache", loader=lambda name, device: by_name[name],
                    fingerprint=(lambda name: by_name[name].weights_hash) if fingerprinted else None)
    track = make_track("t1")
    return TableBuilder(engine, [info(m.name) for m in models], {"t1": track}.__getitem__,
                        cells_dir=root / "cache" / "cells", seed=3)


def final_table(builder: TableBuilder) -> dict:
    return json.loads(list(builder.updates("t1"))[-1].value)


def cell_audio(cell: dict) -> np.ndarray:
    audio, _ = sf.read(unquote(cell["url"].removeprefix("gradio_api/file=")), dtype="float32")
    return audio * cell["gain"]


def assert_complete_and_correct(value: dict, expected: dict) -> None:
    """Every model row of every model is present and plays the same audio as in a table computed from scratch."""
    for row in MODEL_ROWS:
        assert set(value["cells"][row]) == set(expected["cells"][row]) == {"linear", "noisy"}
        for model in ("linear", "noisy"):
            np.testing.assert_allclose(cell_audio(value["cells"][row][model]),
                                       cell_audio(expected["cells"][row][model]), atol=1e-4)
    assert all(m["available"] for m in value["models"])


@pytest.fixture
def expected(tmp_path_factory) -> dict:
    return final_table(make_builder(tmp_path_factory.mktemp("clean")))


def entry_dirs(builder: TableBuilder, name: str) -> list[Path]:
    """The engine's cache entries holding `<name>.npy`."""
    return sorted(p.parent for p in Path(builder.engine.cache_dir).glob(f"??/*/{name}.npy"))


def restarted(builder: TableBuilder) -> TableBuilder:
    """A fresh app on the same cache folder (nothing remembered in memory)."""
    return make_builder(Path(builder.engine.cache_dir).parent)


@pytest.mark.parametrize("damage", ["zero_bytes", "missing_row", "truncated"])
def test_a_damaged_table_file_is_recomputed(tmp_path, expected, damage):
    builder = make_builder(tmp_path)
    final_table(builder)
    for entry in entry_dirs(builder, "sep_vocals"):
        path = entry / "sep_vocals.npy"
        if damage == "zero_bytes":
            path.write_bytes(b"")
        elif damage == "missing_row":
            path.unlink()
        else:
            path.write_bytes(path.read_bytes()[:100])
    again = restarted(builder)
    assert_complete_and_correct(final_table(again), expected)
    assert all((e / "sep_vocals.npy").stat().st_size > 100 for e in entry_dirs(again, "sep_vocals"))  # rewritten


def test_zero_byte_latents_are_recomputed(tmp_path, expected):
    builder = make_builder(tmp_path)
    final_table(builder)
    latents = entry_dirs(builder, "accomp")
    assert latents
    for entry in latents:
        (entry / "mix.npy").write_bytes(b"")
    for entry in entry_dirs(builder, "sep_vocals"):  # the tables too, so that the latents are needed again
        (entry / "ae_mix.npy").write_bytes(b"")
    assert_complete_and_correct(final_table(restarted(builder)), expected)
    assert all((e / "mix.npy").stat().st_size > 0 for e in entry_dirs(builder, "accomp"))


def test_a_truncated_cell_wav_is_rewritten_at_the_next_request(tmp_path, expected):
    builder = make_builder(tmp_path)
    value = final_table(builder)
    damaged = Path(unquote(value["cells"]["sep_vocals"]["linear"]["url"].removeprefix("gradio_api/file=")))
    damaged.write_bytes(damaged.read_bytes()[:100])
    missing = Path(unquote(value["reference"]["gt_mix"]["url"].removeprefix("gradio_api/file=")))
    missing.unlink()
    again = final_table(builder)  # same server, same page: the remembered table is checked, not trusted
    assert_complete_and_correct(again, expected)
    assert sf.info(str(damaged)).frames == len(make_track("t1").mix) and missing.is_file()


def test_a_failure_is_retried_at_the_next_request(tmp_path):
    builder = make_builder(tmp_path, IdentityAE("linear"), FailsOnce("flaky"))
    first = final_table(builder)
    assert not {m["name"]: m for m in first["models"]}["flaky"]["available"]
    second = final_table(builder)
    assert all(m["available"] for m in second["models"])
    assert all(set(second["cells"][row]) == {"linear", "flaky"} for row in MODEL_ROWS)


def test_orphan_temporary_files_are_swept_at_start_young_ones_kept(tmp_path):
    cache = tmp_path / "cache"
    old_dir = cache / "ab" / f".abcd{TEMP_MARK}.x1"
    old_file = cache / "cells" / "wav" / "cd" / f".cdef{TEMP_MARK}.y1.wav"
    young = cache / "ab" / f".ef{TEMP_MARK}.z1"
    for d in (old_dir, young):
        d.mkdir(parents=True)
        (d / "mix.npy").write_bytes(b"partial")
    old_file.parent.mkdir(parents=True)
    old_file.write_bytes(b"RIFF")
    an_hour_ago = time.time() - 3600
    for p in (old_dir, old_file):
        os.utime(p, (an_hour_ago, an_hour_ago))
    Engine(device="cpu", cache_dir=cache, loader=lambda name, device: IdentityAE(name))
    assert not old_dir.exists() and not old_file.exists()
    assert young.exists()  # may belong to a writer still at work


def test_a_sweep_passes_by_folders_that_vanish_while_it_walks(tmp_path, monkeypatch):
    """A writer renames its temporary folder into place (or the budget evicts an entry) while the disk budget
    sweeps after another thread's write: the sweep goes on, and that thread's computation with it."""
    cache = tmp_path / "cache"
    leftover = cache / "ab" / f".abcd{TEMP_MARK}.x1"
    leftover.mkdir(parents=True)
    (leftover / "mix.npy").write_bytes(b"partial")
    os.utime(leftover, (time.time() - 3600,) * 2)
    being_written = cache / "cd" / f".cdef{TEMP_MARK}.y1"
    being_written.mkdir(parents=True)
    (being_written / "mix.npy").write_bytes(b"partial")
    evicted = cache / "ef" / "0123"
    evicted.mkdir(parents=True)
    listed = os.scandir

    def vanishing(path):
        if isinstance(path, (str, os.PathLike)) and Path(path) in (being_written, evicted):
            raise FileNotFoundError(path)
        return listed(path)

    monkeypatch.setattr(os, "scandir", vanishing)
    assert sweep_temporary(cache) == 1
    assert not leftover.exists()


KILLED_SERVER = """
import sys, time
import numpy as np
sys.path[:0] = [{tests!r}, {root!r}]
from test_cache_faults import make_builder
from pathlib import Path

real_save, calls = np.save, []

def save_then_hang(path, *args, **kwargs):
    real_save(path, *args, **kwargs)
    calls.append(path)
    if len(calls) == {hang_after}:  # in the middle of writing an entry
        Path({marker!r}).write_text("writing")
        time.sleep(600)

np.save = save_then_hang
make_builder(Path({root_dir!r})).warm("t1")
"""


@pytest.mark.parametrize("hang_after", [3, 12])  # while writing the latents; while writing the first table
def test_kill_9_mid_table_recovers_a_complete_correct_table(tmp_path, expected, hang_after):
    marker = tmp_path / "marker"
    code = KILLED_SERVER.format(tests=str(TESTS), root=str(TESTS.parent), hang_after=hang_after,
                                marker=str(marker), root_dir=str(tmp_path))
    server = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert server.poll() is None, "the server exited before it was killed"
            assert time.monotonic() < deadline, "the server never started writing"
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    cache = tmp_path / "cache"
    orphans = list(cache.rglob(f"*{TEMP_MARK}*"))
    assert orphans  # the kill left a half-written entry behind
    value = final_table(make_builder(tmp_path))  # the next request, served by the restarted app
    assert_complete_and_correct(value, expected)
    long_ago = time.time() - 3600  # once the orphans are old enough to be nobody's, the sweep removes them
    for p in orphans:
        if p.exists():
            os.utime(p, (long_ago, long_ago))
    sweep_temporary(cache)
    assert not list(cache.rglob(f"*{TEMP_MARK}*"))


def cell_files(builder: TableBuilder) -> list[Path]:
    return sorted((Path(builder.cells_dir) / "wav").glob("*/*.wav"))


def test_a_served_table_keeps_its_files_marked_used_at_most_once_per_interval(tmp_path, monkeypatch):
    """The disk budget evicts the least recently used files: a table's files are marked used when it is computed
    (all of them, the first made included) and when it is served after `TOUCH_EVERY`, not at every request."""
    builder = make_builder(tmp_path)
    long_ago = time.time() - 3600
    final_table(builder)
    files = cell_files(builder)
    assert files and all(time.time() - f.stat().st_mtime < 60 for f in files)  # computed: all marked just now
    for f in files:
        os.utime(f, (long_ago, long_ago))
    assert builder.remembered("t1") is not None
    assert all(f.stat().st_mtime == long_ago for f in files)  # served again at once: not marked again
    monkeypatch.setattr("ui.tables.TOUCH_EVERY", 0.0)
    assert builder.remembered("t1") is not None
    assert all(time.time() - f.stat().st_mtime < 60 for f in files)  # due: marked used
