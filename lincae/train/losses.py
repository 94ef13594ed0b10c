"""Reconstruction loss: multi-resolution STFT magnitudes plus a phase-aware complex term at low frequencies."""
from __future__ import annotations

import torch

RESOLUTIONS = (2048, 1024, 512, 256)
EPS = 1e-5


def _stft(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=x.device)
    return torch.stft(x, n_fft, n_fft // 4, window=window, return_complex=True)


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, low_hz: float = 2000.0,
                        sample_rate: int = 44100) -> torch.Tensor:
    """Per-item normalised so quiet (and silent, gain-0) targets count as much as loud ones."""
    loss = pred.new_zeros(())
    for n_fft in RESOLUTIONS:
        p, t = _stft(pred, n_fft), _stft(target, n_fft)
        pm, tm = p.abs(), t.abs()
        norm = tm.pow(2).sum((1, 2)).sqrt() + 1e-3 * tm[0].numel() ** 0.5  # floor: silent (gain-0) targets
        loss = loss + ((pm - tm).pow(2).sum((1, 2)).sqrt() / norm).mean()  # spectral convergence
        loss = loss + (torch.log(pm + EPS) - torch.log(tm + EPS)).abs().mean()  # log magnitude
        if n_fft == 1024:
            low = int(low_hz / sample_rate * n_fft)
            diff = (p[:, :low] - t[:, :low]).abs().sum((1, 2))
            loss = loss + (diff / (t[:, :low].abs().sum((1, 2)) + EPS * t[0, :low].numel())).mean()
    return loss / len(RESOLUTIONS)
