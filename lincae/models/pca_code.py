"""A linear reference code: MDCT frames projected onto their top principal directions.

The yardstick for the embedded models: at the same number of values per 256 samples, a trained non-linear
autoencoder should reconstruct at least as well as this orthogonal projection, which is linear by construction.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from lincae.models.spectral_ae import mdct_basis


class MdctPcaCode:
    """`values` principal components of sine-window MDCT frames (hop `hop`), uncentred, fitted by `fit`."""

    def __init__(self, values: int, hop: int = 256) -> None:
        if not 0 < values <= hop:
            raise ValueError(f"a code keeps between 1 and {hop} values per frame, not {values}")
        self.values, self.hop = values, hop
        self.basis = mdct_basis(hop).double()
        self.components: np.ndarray | None = None  # [hop, values]

    def frames(self, x: np.ndarray) -> np.ndarray:
        """[T] → MDCT coefficients [frames, hop]."""
        hop = self.hop
        t = torch.from_numpy(np.asarray(x, np.float64))[None, None]
        padded = torch.nn.functional.pad(t, (hop, hop + (-t.shape[-1]) % hop))
        return torch.nn.functional.conv1d(padded, self.basis, stride=hop)[0].T.numpy()

    def fit(self, signals: Iterable[np.ndarray]) -> MdctPcaCode:
        frames = np.concatenate([self.frames(x) for x in signals])
        _, vectors = np.linalg.eigh(frames.T @ frames)  # ascending eigenvalues
        self.components = vectors[:, ::-1][:, : self.values].copy()
        return self

    def encode(self, x: np.ndarray) -> np.ndarray:
        """[T] → code [frames, values]."""
        if self.components is None:
            raise RuntimeError("fit the code before encoding")
        return self.frames(x) @ self.components

    def decode(self, code: np.ndarray, length: int) -> np.ndarray:
        """Code [frames, values] → [length] audio."""
        coeffs = torch.from_numpy(code @ self.components.T).T[None]
        out = torch.nn.functional.conv_transpose1d(coeffs, self.basis, stride=self.hop)
        return out[0, 0, self.hop: self.hop + length].numpy().astype(np.float32)
