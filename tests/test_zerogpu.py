"""The engine on Hugging Face ZeroGPU: one GPU call per table, arguments that cross to a worker, a duration
that covers the work. The fake `spaces` does to each call what ZeroGPU does and a test can check: it pickles
the arguments (and refuses a torch module among them), unpickles them for the worker, and fails a call that
runs past the duration it asked for."""
from __future__ import annotations

import io
import pickle
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from engine_fakes import IdentityAE
from lincae.data.track import Track
from lincae.engine import MODEL_ROWS, SIGNALS, Engine, zerogpu
from lincae.engine.device import gpu_task
from lincae.rows import STEMS


class _NoModules(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, torch.nn.Module):
            raise pickle.PicklingError(f"a {type(obj).__name__} cannot be sent to the GPU worker")
        return NotImplemented


def _pickled(value) -> bytes:
    buffer = io.BytesIO()
    _NoModules(buffer).dump(value)
    return buffer.getvalue()


class FakeSpaces(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("spaces")
        self.calls: list[dict] = []

    def GPU(self, task=None, duration=None):  # noqa: N802 (the real name)
        def wrap(fn):
            def on_gpu(*args, **kwargs):
                seconds = duration(*args, **kwargs) if callable(duration) else (duration or 60)
                sent = _pickled((args, kwargs))
                args, kwargs = pickle.loads(sent)
                start = time.perf_counter()
                result = pickle.loads(_pickled(fn(*args, **kwargs)))
                elapsed = time.perf_counter() - start
                self.calls.append({"duration": seconds, "elapsed": elapsed, "bytes": len(sent)})
                if elapsed > seconds:
                    raise TimeoutError(f"GPU task aborted after {seconds:.1f} s")
                return result
            return on_gpu

        return wrap(task) if callable(task) else wrap


@pytest.fixture
def spaces(monkeypatch: pytest.MonkeyPatch) -> FakeSpaces:
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setattr(zerogpu, "_run_on_gpu", gpu_task(zerogpu._run, duration=zerogpu.duration))
    return fake


def make_track(seconds: float = 0.25) -> Track:
    rng = np.random.default_rng(0)
    stems = {s: (0.1 * rng.standard_normal(int(seconds * 44100))).astype(np.float32) for s in STEMS}
    return Track(id="noise", title="noise", stems=stems)


def test_a_table_is_one_gpu_call_with_a_duration_from_its_audio(spaces, tmp_path) -> None:
    track = make_track()
    engine = Engine(device="cpu", cache_dir=tmp_path, loader=lambda name, device: IdentityAE(name))
    table = engine.track_table(track, "identity")
    np.testing.assert_allclose(table["ae_mix"], track.mix, atol=1e-6)
    [call] = spaces.calls
    items = len(SIGNALS) + len(MODEL_ROWS)  # every signal encoded, every row decoded
    assert call["duration"] == pytest.approx(zerogpu.GPU_SETUP_S + zerogpu.GPU_S_PER_AUDIO_S * items * track.duration)
    engine.track_table(track, "identity")  # cached: no GPU at all
    engine.track_table(track, "identity", seed=1)  # latents cached: one call that only decodes
    assert len(spaces.calls) == 2
    assert spaces.calls[1]["duration"] < call["duration"]


def test_the_official_model_stays_in_the_process_and_is_not_compiled(
    spaces, offline_hub: Path, official_mirror: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LINCAE_WEIGHTS_DIR", str(official_mirror))
    engine = Engine(device="cpu", cache_dir=tmp_path, compile=True)
    assert not engine.compile  # torch.compile is not supported on ZeroGPU
    track = make_track()
    engine.track_table(track, "lin-cae")
    engine.decode_combination(track, "lin-cae", {"vocals": 0.5, "drums": 1.0})  # the mixer: one more call
    assert len(spaces.calls) == 2
    assert all(c["bytes"] < 2 * len(SIGNALS) * track.mix.nbytes for c in spaces.calls)  # audio, not a model


def test_the_fake_fails_a_call_that_sends_a_model_or_overruns(spaces, tmp_path, monkeypatch) -> None:
    with pytest.raises(pickle.PicklingError, match="cannot be sent"):
        gpu_task(lambda model: model, duration=10)(torch.nn.Linear(2, 2))
    monkeypatch.setattr(zerogpu, "GPU_SETUP_S", 0.0)
    monkeypatch.setattr(zerogpu, "GPU_S_PER_AUDIO_S", 0.0)
    engine = Engine(device="cpu", cache_dir=tmp_path, loader=lambda name, device: IdentityAE(name))
    with pytest.raises(TimeoutError, match="aborted"):
        engine.track_table(make_track(), "identity")
