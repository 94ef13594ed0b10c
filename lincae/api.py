"""The library for scripts: `lincae.load_model(name)` → a `Model` that takes audio as it comes.

    import lincae
    model = lincae.load_model("demo-lincae")
    audio, rate = lincae.audio.load("song.wav")
    z = model.encode(audio, sample_rate=rate)
    y = model.decode(0.5 * z)

`encode` takes a file path, a numpy array or a torch tensor: `[T]` is one signal, `[N, T]` is N signals (a batch,
or the channels of a stereo array, each encoded on its own; `mono=True` averages them into one), at any sample
rate (resampled with soxr to the model's). Latents of one model and one length add, subtract and scale.
`decode` returns float32 audio `[N, T]` at the model's rate, by default as long as the latent covers.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import torch

from lincae import audio as audio_io
from lincae.models.base import Autoencoder
from lincae.settings import Settings

AudioLike = str | os.PathLike | np.ndarray | torch.Tensor


class Model:
    """One autoencoder, ready to run (`lincae.load_model`). `autoencoder` is the model itself (the
    `lincae.models.base.Autoencoder` contract: torch `[B, T]` at `sample_rate` in, latents out)."""

    def __init__(self, autoencoder: Autoencoder) -> None:
        self.autoencoder = autoencoder

    @property
    def name(self) -> str:
        return self.autoencoder.name

    @property
    def sample_rate(self) -> int:
        return self.autoencoder.sample_rate

    @property
    def deterministic(self) -> bool:
        return self.autoencoder.deterministic

    def encode(self, audio: AudioLike, sample_rate: int | None = None, mono: bool = False) -> torch.Tensor:
        """Latents `[N, ...]` of `audio` (see the module note). `sample_rate`: the rate of an array (a file
        says its own; None: the model's)."""
        x = self._signals(audio, sample_rate, mono)
        with torch.inference_mode():
            return self.autoencoder.encode(torch.from_numpy(x))

    def decode(self, z: torch.Tensor | np.ndarray, length: int | None = None, seed: int | None = 0) -> torch.Tensor:
        """Audio `[N, length]` at `sample_rate`. `length` None: the samples the latent covers. `seed`: the noise
        of a stochastic decoder (the same seed makes decodes comparable)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim < 2:
            raise ValueError(f"expected latents with a batch dimension first, got shape {tuple(z.shape)}")
        if length is None:
            if z.ndim != 3:
                raise ValueError(f"latents shaped {tuple(z.shape)} (a long input, encoded in chunks) need length=: "
                                 "the number of samples that were encoded")
            frame, offset = self._framing
            length = max(1, round((z.shape[-1] - offset) * frame))
        with torch.inference_mode():
            return self.autoencoder.decode(z, int(length), seed=seed).float().cpu()

    def _signals(self, audio: AudioLike, sample_rate: int | None, mono: bool) -> np.ndarray:
        if isinstance(audio, (str, os.PathLike)):
            if not Path(audio).is_file():
                raise FileNotFoundError(f"no audio file at {audio}")
            x, _ = audio_io.load(audio, self.sample_rate)
            return x[None]
        x = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
        x = x.astype(np.float32, copy=False)
        if x.ndim == 1:
            x = x[None]
        if x.ndim != 2:
            raise ValueError(f"expected audio [T] or [N, T], got shape {x.shape}")
        if x.shape[0] > x.shape[1]:
            raise ValueError(f"audio shaped {x.shape} has more rows than samples: pass [N, T] (for soundfile's "
                             "[T, channels] layout, its transpose)")
        if mono:
            x = x.mean(axis=0, keepdims=True)
        rate = self.sample_rate if sample_rate is None else int(sample_rate)
        if rate != self.sample_rate:
            x = np.stack([audio_io.resample(row, rate, self.sample_rate) for row in x])
        return np.ascontiguousarray(x)

    @functools.cached_property
    def _framing(self) -> tuple[float, float]:
        """Samples per latent frame, and latent frames beyond length / frame (from two silent probes)."""
        n1 = max(getattr(self.autoencoder, "min_length", 0), 1 << 14)
        n2 = 2 * n1
        with torch.inference_mode():
            l1, l2 = (self.autoencoder.encode(torch.zeros(1, n)).shape[-1] for n in (n1, n2))
        frame = (n2 - n1) / (l2 - l1)
        return frame, l1 - n1 / frame


def load_model(name: str, device: torch.device | str | None = None, settings: Settings | None = None) -> Model:
    """The model `name` (see `lincae.list_models()`) on `device` (default: CUDA when present, else CPU).
    `settings`: where local weights are (None: as the environment says). Raises `ValueError` for an unknown
    name and `lincae.ModelUnavailable` (with the reason) when it cannot run here."""
    from lincae import registry

    return Model(registry.load_model(name, device, settings))
