"""Reconstruction loss: relative waveform error, multi-resolution spectral convergence and log-mel distance.

The first two weigh errors by energy, as the evaluation's SNRs do, normalised per clip so that quiet clips count as
much as loud ones. The log-mel term weighs every band by what an ear hears: without it the quiet treble (a few % of
the energy) barely counts, and a decoder may leave it missing or fill it with a steady hiss.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from lincae.metrics import mel_filterbank

RESOLUTIONS = (2048, 1024, 512, 256)
MEL_RESOLUTIONS = ((2048, 80), (512, 40))  # (n_fft, mel bands)
FLOOR = 1e-3  # per-sample (or per-bin) RMS under which a target counts as silent
MEL_FLOOR = 1e-5  # magnitude floor of the log-mel term, as in `lincae.metrics.mel_distance`


def _stft_magnitude(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True).abs()


@lru_cache(maxsize=8)
def _mel_matrix(n_fft: int, bands: int, sample_rate: int) -> torch.Tensor:
    return torch.from_numpy(mel_filterbank(sample_rate, n_fft, bands).copy()).float()


def _relative_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    dims = tuple(range(1, target.dim()))
    err = (pred - target).pow(2).sum(dims).add(1e-12).sqrt()  # finite gradient at a perfect (e.g. silent) match
    norm = target.pow(2).sum(dims).sqrt() + FLOOR * target[0].numel() ** 0.5
    return (err / norm).mean()


def log_mel_distance(pred: torch.Tensor, target: torch.Tensor, sample_rate: int = 44100) -> torch.Tensor:
    """Mean |log10 mel magnitude difference| over `MEL_RESOLUTIONS` (1.0 = 20 dB)."""
    total = pred.new_zeros(())
    for n_fft, bands in MEL_RESOLUTIONS:
        fb = _mel_matrix(n_fft, bands, sample_rate).to(pred.device)
        mel_pred = torch.einsum("mf,bft->bmt", fb, _stft_magnitude(pred, n_fft))
        mel_target = torch.einsum("mf,bft->bmt", fb, _stft_magnitude(target, n_fft))
        total = total + (mel_pred.clamp_min(MEL_FLOOR).log10() - mel_target.clamp_min(MEL_FLOOR).log10()).abs().mean()
    return total / len(MEL_RESOLUTIONS)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mel_weight: float = 0.0) -> torch.Tensor:
    """[B, T] pairs → scalar: waveform relative L2 + mean spectral convergence over `RESOLUTIONS`
    + `mel_weight` · log-mel distance."""
    spectral = sum(_relative_error(_stft_magnitude(pred, n), _stft_magnitude(target, n)) for n in RESOLUTIONS)
    loss = _relative_error(pred, target) + spectral / len(RESOLUTIONS)
    return loss + mel_weight * log_mel_distance(pred, target) if mel_weight else loss
