"""The Lin-CAE linearity augmentation (arXiv 2510.23530) and its M2L-style baseline, as one training step's inputs.

Linear recipe: some clips are replaced by mixtures whose *latent* is the same combination of the sources' latents
(the encoder never sees the mixture), and with probability 0.8 a random gain g ~ U(lo, hi) (g < 0.05 → 0) multiplies
both the latent and the target audio; the encoder input is never scaled. The gain is capped at 1/peak of the target,
so that no target exceeds full scale: large gains (×2, ×3) are therefore learnt mostly on quiet clips, which the
random input levels of the data provide.
Mixtures are of three kinds: the paper's convex mix with another clip of the batch (w ~ U(0.5, 1)); the clip plus the
other stems of its own song window (coefficients 1, 1: the song's mix); and, an extension with a negative
coefficient, the song's mix minus those other stems (latent Enc(mix) − Enc(rest), target the clip itself).
Baseline: the same mixtures, encoded from the mixed audio itself (mixit-style), and no gains.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lincae.train.data import Batch


@dataclass(frozen=True)
class Recipe:
    linear: bool
    mix_prob: float = 0.5  # share of clips turned into mixtures
    same_song_prob: float = 0.6  # of those, share combined with the rest of their own song window
    subtract_prob: float = 0.5  # of those, share where the rest is subtracted from the song's mix
    gain_prob: float = 0.8
    gain_range: tuple[float, float] = (0.0, 3.0)
    anneal_steps: tuple[int, int] | None = None  # Lin-CAE: hold the range until the first step, then shrink it
    # to [1, 1] by the second (cosine); None keeps it (Lin-CAE-2). In steps, not a share of a run's length, so that
    # a run resumed with a larger step budget follows the same schedule.

    def gain_bounds(self, step: int) -> tuple[float, float]:
        """The gain range at training step `step`."""
        lo, hi = self.gain_range
        if self.anneal_steps is None or step <= self.anneal_steps[0]:
            return lo, hi
        start, end = self.anneal_steps
        t = min(1.0, (step - start) / max(1, end - start))
        keep = 0.5 * (1 + math.cos(math.pi * t))
        return 1 + (lo - 1) * keep, 1 + (hi - 1) * keep


NONE, SUM, SUBTRACT = -2, -1, -3


@dataclass
class Plan:
    """What to do with each clip, drawn before any forward pass so both recipes see the same draws."""

    partner: np.ndarray  # index into the batch; SUM / SUBTRACT: the clip's own complement; NONE: no mixture
    weight: np.ndarray  # coefficient of the clip; the partner gets 1 - weight (or 1 for a complement)
    gain: np.ndarray  # before the peak cap; NaN = no gain


def draw_plan(batch_size: int, recipe: Recipe, step: int, rng: np.random.Generator) -> Plan:
    mix = rng.random(batch_size) < recipe.mix_prob
    same = rng.random(batch_size) < recipe.same_song_prob
    own_song = np.where(rng.random(batch_size) < recipe.subtract_prob, SUBTRACT, SUM)
    partner = np.where(mix, np.where(same, own_song, (np.arange(batch_size) - 1) % batch_size), NONE)
    weight = np.where(partner >= 0, rng.uniform(0.5, 1.0, batch_size), 1.0)
    lo, hi = recipe.gain_bounds(step)
    gain = rng.uniform(lo, hi, batch_size)
    gain[gain < 0.05] = 0.0
    gain[rng.random(batch_size) >= recipe.gain_prob] = np.nan
    return Plan(partner, weight, gain)


def _combine(own: torch.Tensor, comp: torch.Tensor, full: torch.Tensor, plan: Plan) -> torch.Tensor:
    """Apply the plan's mixtures to per-clip tensors (audio or latents) of shape [B, ...]; `full` is the
    clip's song mix (own + comp for audio, its own encoding for latents)."""
    out = own.clone()
    for i, (p, w) in enumerate(zip(plan.partner, plan.weight)):
        if p == SUM:
            out[i] = own[i] + comp[i]
        elif p == SUBTRACT:
            out[i] = full[i] - comp[i]
        elif p >= 0:
            out[i] = w * own[i] + (1 - w) * own[p]
    return out


def prepare(model: torch.nn.Module, batch: Batch, recipe: Recipe, plan: Plan) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents to decode and the audio they must decode to."""
    x, comp = torch.from_numpy(batch.x), torch.from_numpy(batch.complement)
    target = _combine(x, comp, x + comp, plan)
    if not recipe.linear:
        return model.encode(target), target
    n = len(x)
    z = model.encode(torch.cat([x, comp, x + comp]))
    z = _combine(z[:n], z[n: 2 * n], z[2 * n:], plan)
    peak = target.abs().amax(dim=1).clamp_min(1e-6)
    gain = torch.from_numpy(np.nan_to_num(plan.gain, nan=1.0)).float()
    gain = torch.minimum(gain, 1.0 / peak)  # keep the target within full scale
    no_gain = torch.from_numpy(np.isnan(plan.gain))
    gain = torch.where(no_gain, torch.ones_like(gain), gain)
    return z * gain[:, None, None], target * gain[:, None]
