"""A track: four stems at a known rate; the mix is their exact sum."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

import numpy as np

from lincae.rows import STEMS

SAMPLE_RATE = 44100


def headroom_gain(stems: dict[str, np.ndarray], peak: float = 0.9) -> np.float32:
    """One gain for all stems that keeps every stem and their sum at or below `peak` (never above 1)."""
    loudest = max(float(np.abs(np.sum(list(stems.values()), axis=0)).max()),
                  *(float(np.abs(a).max()) for a in stems.values()))
    return np.float32(min(1.0, peak / loudest)) if loudest > 0 else np.float32(1.0)


@dataclass(frozen=True)
class Track:
    """Mono float32 stems of equal length at `sample_rate`. `mix` is always the exact stem sum."""

    id: str
    title: str
    stems: dict[str, np.ndarray]
    sample_rate: int = SAMPLE_RATE
    source: str = ""
    licence: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [s for s in STEMS if s not in self.stems]
        if missing:
            raise ValueError(f"track {self.id!r} is missing stems: {', '.join(missing)}")
        lengths = {s: len(self.stems[s]) for s in STEMS}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"track {self.id!r} has stems of different lengths: {lengths}")

    @property
    def mix(self) -> np.ndarray:
        return np.sum([self.stems[s] for s in STEMS], axis=0, dtype=np.float32)

    @property
    def accomp(self) -> np.ndarray:
        """Accompaniment as the paper defines it: mix − vocals."""
        return (self.mix - self.stems["vocals"]).astype(np.float32)

    @property
    def num_samples(self) -> int:
        return len(self.stems[STEMS[0]])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    @functools.cached_property
    def content_hash(self) -> str:
        """Identifies the audio itself (not the name): the key the engine caches under. Computed once per
        track (a track's audio is never modified), so that serving a cached table stays cheap."""
        h = hashlib.sha256(str(self.sample_rate).encode())
        for s in STEMS:
            h.update(s.encode())
            h.update(np.ascontiguousarray(self.stems[s], dtype=np.float32).tobytes())
        return h.hexdigest()[:16]
