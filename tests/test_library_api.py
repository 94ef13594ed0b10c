"""`lincae.load_model(name)` for scripts: audio as it comes (path, numpy, torch; [T] or [N, T]; any rate)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import lincae
from engine_fakes import IdentityAE
from lincae import metrics
from lincae.api import Model
from upload_files import tone, write

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_example_runs_as_written(monkeypatch):
    [example] = [b for b in re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
                 if "lincae.load_model" in b]
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(example, namespace)
    model, audio, z, quieter = (namespace[k] for k in ("model", "audio", "z", "quieter"))
    assert quieter.shape[0] == 1 and 0 <= quieter.shape[1] - len(audio) < 256 * 2
    assert metrics.snr(0.5 * model.decode(z)[0, :len(audio)], quieter[0, :len(audio)]) > 10


@pytest.fixture
def model() -> Model:
    return Model(IdentityAE("linear", sample_rate=44100))


def test_numpy_torch_and_files_give_the_same_latents(model, tmp_path):
    x = tone(440.0, 0.5)[:, 0]
    path = write(tmp_path / "a.wav", x, 44100, subtype="FLOAT")
    z = model.encode(x)
    assert z.shape[0] == 1
    torch.testing.assert_close(model.encode(torch.from_numpy(x)), z)
    torch.testing.assert_close(model.encode(str(path)), z)
    torch.testing.assert_close(model.encode(Path(path)), z)


def test_rows_are_signals_and_mono_averages_them(model):
    stereo = np.stack([tone(440.0, 0.5)[:, 0], tone(660.0, 0.5)[:, 0]])
    assert model.encode(stereo).shape[0] == 2
    torch.testing.assert_close(model.encode(stereo, mono=True), model.encode(stereo.mean(axis=0)))
    with pytest.raises(ValueError, match="transpose"):
        model.encode(stereo.T)
    with pytest.raises(ValueError, match=r"\[T\] or \[N, T\]"):
        model.encode(stereo[None])


def test_other_rates_are_resampled_to_the_models(model):
    at_48k = tone(440.0, 0.5, rate=48000)[:, 0]
    z = model.encode(at_48k, sample_rate=48000)
    y = model.decode(z)[0].numpy()
    assert abs(len(y) - 22050) < 4
    assert metrics.spectral_snr(tone(440.0, 0.5)[:, 0], y[:22050]) > 30


def test_decode_by_default_returns_what_the_latent_covers(tiny_embedded_models):
    model = lincae.load_model("demo-lincae", "cpu")
    for n in (44100, 30000, 257):
        z = model.encode(np.zeros(n, np.float32))
        assert 0 <= model.decode(z).shape[-1] - n < 256  # whole frames of 256 samples
    assert model.deterministic and model.sample_rate == 44100


def test_long_latents_in_chunks_need_a_length(model):
    with pytest.raises(ValueError, match="need length="):
        model.decode(torch.zeros(1, 2, 4, 10))


def test_a_missing_file_says_so(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="no audio file"):
        model.encode(tmp_path / "nope.wav")
