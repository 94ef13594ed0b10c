"""Lin-CAE, Lin-CAE-2 and M2L through the official `linear-cae` package.

The network is built by the package itself, from the package's own weight files (the Hub layout
`<hash>_weights/{autoencoder_inference_model_last.pth, *_kwargs_last.yaml}`), exactly as
`linear_cae.Autoencoder.from_pretrained` does, but from paths the caller resolved (Hub cache, a download
or a local mirror). `encode` is the package's. `decode` runs the package's sampler with one noise draw
per seed shared by every item of the batch: each item decodes as it would alone, so a result never depends
on what it was batched with, and decodes of the same track compare under the same noise.

Latents: `[B, 64, L]`, or `[B, chunks, 64, L]` when `max_chunk_size` is set and the input is longer;
`decode` accepts back whichever `encode` returned. Long inputs are chunked here, as the package chunks them
(overlapping chunks, each decoded with its own noise, linear crossfade), so the engine hands this model whole
signals (`chunks_long_inputs`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import torch
import yaml

from lincae.engine.chunking import ChunkPlan, overlap_add

log = logging.getLogger(__name__)

HUB_REPO = "BernardoTorres/linear_consistency_autoencoders"
HASHES: dict[str, str] = {"lin-cae": "0a3afbec", "lin-cae-2": "2f4c6d21", "m2l": "1511f18a"}


class WeightFiles(NamedTuple):
    """The four files of one checkpoint, in the package's naming."""

    checkpoint: Path
    frontend: Path
    generator: Path
    diffusion: Path


FILE_NAMES = WeightFiles(
    Path("autoencoder_inference_model_last.pth"),
    Path("frontend_kwargs_last.yaml"),
    Path("generator_kwargs_last.yaml"),
    Path("diffusion_kwargs_last.yaml"),
)


def hub_folder(name: str) -> str:
    """The checkpoint's folder in the Hub repo (and in a local mirror)."""
    return f"{HASHES[name]}_weights"


def build_module(name: str, files: WeightFiles) -> torch.nn.Module:
    """The package's `Autoencoder`, constructed as its `from_pretrained` does, on CPU, in eval mode."""
    from linear_cae import Autoencoder as PackageAutoencoder

    kwargs = [yaml.safe_load(Path(p).read_text()) for p in (files.frontend, files.generator, files.diffusion)]
    module = PackageAutoencoder(*kwargs, name=name)
    module.load_state_dict(torch.load(files.checkpoint, map_location="cpu"))
    return module.eval()


class OfficialAutoencoder:
    """An `Autoencoder` around the package's model. `max_batch_size` bounds items per network pass."""

    chunks_long_inputs = True
    """Inputs longer than `max_chunk_size` are split, noised per chunk and crossfaded by the model itself."""
    deterministic = False  # a consistency decoder starts from seeded noise

    def __init__(self, module: torch.nn.Module, weights_hash: str) -> None:
        self.module = module
        self.name: str = module.name
        self.sample_rate: int = module.sample_rate or 44100
        self.weights_hash = weights_hash
        self.decoder_compiled = False
        """Whether decoding runs compiled code: after `speed_up_decoder(compile=True)`, unless compiling failed."""

    @property
    def device(self) -> torch.device:
        return self.module.device

    @property
    def max_batch_size(self) -> int:
        return self.module.max_batch_size

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        self.module.max_batch_size = value

    @property
    def max_chunk_size(self) -> int | None:
        """Inputs longer than this many samples are encoded as overlapping chunks (None: never)."""
        return self.module.max_chunk_size

    @max_chunk_size.setter
    def max_chunk_size(self, value: int | None) -> None:
        self.module.max_chunk_size = value

    @property
    def min_length(self) -> int:
        """The shortest input (in samples) the encoder accepts: one STFT frame."""
        return self.module.frontend.fac * self.module.frontend.hop_size

    def to(self, device: torch.device | str) -> OfficialAutoencoder:
        self.module.to(device)
        return self

    def speed_up_decoder(self, compile: bool = False) -> None:
        """Decode faster without changing the model (outputs agree with the package's closely, not bit for bit).

        The decoder's convolution weights go channels-last, which oneDNN and cuDNN run faster; the encoder keeps
        its layout, because channels-last made its latents far less accurate. With `compile`, the sampler's
        network step is compiled by TorchInductor with frozen weights, after minutes of compilation for the
        first input shapes. How much faster and how close: docs/BENCHMARKS.md. Where compilation fails (no C++
        compiler or Python headers, say), decoding goes on without it and `decoder_compiled` says so.
        """
        g = self.module.generator
        for name, child in g.named_children():
            if name != "encoder":
                child.to(memory_format=torch.channels_last)
        if compile:
            g.forward_generator = self._compiled_or_eager(g.forward_generator)

    def _compiled_or_eager(self, fn: Callable) -> Callable:
        """`fn` compiled by TorchInductor (weights frozen); if compiling fails, `fn` itself from then on."""
        from torch._dynamo.exc import TorchDynamoException

        compiled = torch.compile(fn, options={"freezing": True})
        self.decoder_compiled = True

        def run(*args, **kwargs):
            if self.decoder_compiled:
                try:
                    return compiled(*args, **kwargs)
                except TorchDynamoException as err:
                    self.decoder_compiled = False
                    log.warning("%s: compiling the decoder failed, decoding without it (%s)", self.name, err)
            return fn(*args, **kwargs)

        return run

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2:
            raise ValueError(f"expected mono audio [B, T], got shape {tuple(x.shape)}")
        if x.shape[-1] < self.min_length:
            raise ValueError(f"input of {x.shape[-1]} samples is shorter than the minimum {self.min_length}")
        with torch.inference_mode():
            return self.module.encode(x.to(self.device, torch.float32))

    def decode(self, z: torch.Tensor, length: int, seed: int | None = None) -> torch.Tensor:
        m = self.module
        if z.ndim not in (3, 4):
            raise ValueError(f"expected latents [B, C, L] or [B, chunks, C, L], got shape {tuple(z.shape)}")
        chunked = z.ndim == 4
        if chunked and m.max_chunk_size is None:
            raise ValueError("chunked latents need max_chunk_size, the one they were encoded with")
        batch = z.shape[0]
        chunks = z.shape[1] if chunked else 1
        latents = z.to(self.device, torch.float32).reshape(batch * chunks, *z.shape[-2:]) / m.scale_factor
        samples = m.max_chunk_size if chunked else length
        with torch.inference_mode():
            noise = [n.repeat(batch, 1, 1, 1) for n in self._draw_noise(chunks, z.shape[-1], seed)]
            audio = torch.cat(
                [
                    self._sample(latents[i : i + m.max_batch_size], [n[i : i + m.max_batch_size] for n in noise])
                    for i in range(0, latents.shape[0], m.max_batch_size)
                ]
            )
            audio = _fit(audio, samples)
            if not chunked:
                return audio
            # the package's crossfade: linear fades over each overlap, as the engine's own chunking does
            step = m.max_chunk_size - int(m.max_chunk_size * m.overlap_percentage)
            plan = ChunkPlan(length=min(length, step * (chunks - 1) + samples), chunk=samples, step=step, n=chunks)
            joined = overlap_add(audio.reshape(batch, chunks, samples).float().cpu().numpy(), plan)
            return _fit(torch.from_numpy(joined).to(audio.device), length)

    def _draw_noise(self, chunks: int, latent_length: int, seed: int | None) -> list[torch.Tensor]:
        """Initial noise and one noise per sampling step, `[chunks, D, F, W]` each.

        Drawn in the order the package draws them when it decodes one chunk at a time (initial noise, then
        one draw per step, chunk after chunk), so that a seeded decode equals the package's.
        """
        m = self.module
        g = m.generator
        shape = (1, g.data_channels, g.hop * 2, latent_length * 2 ** g.freq_downsample_list.count(0))
        gen = None
        if seed is not None:
            gen = torch.Generator(self.device)
            gen.manual_seed(seed)
        draws = [
            [torch.randn(shape, generator=gen, device=self.device) for _ in range(1 + m.diffusion_steps)]
            for _ in range(chunks)
        ]
        initial, *steps = (torch.cat(per_draw) for per_draw in zip(*draws))
        return [initial * g.sigma_max, *steps]

    def _sample(self, latents: torch.Tensor, noise: list[torch.Tensor]) -> torch.Tensor:
        """The package's reverse diffusion (`Diffusion.reverse_diffusion`) with the given noise."""
        m = self.module
        d, steps = m.diffusion, m.diffusion_steps
        x = noise[0]
        for k in range(steps):
            sigma = d.get_sigma(steps + 1 - k, steps + 1)
            pred = m.generator.forward_generator(latents, x, sigma)
            x = d.reverse_step(pred, noise[1 + k], d.get_sigma(steps - k, steps + 1))
        return m.frontend.to_waveform(pred)



def _fit(audio: torch.Tensor, length: int) -> torch.Tensor:
    """`audio[..., :length]`, zero-padded when the decoder returned fewer samples (inputs that are not a whole
    number of STFT hops)."""
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return torch.nn.functional.pad(audio, (0, length - audio.shape[-1]))
