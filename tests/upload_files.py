"""Audio files as users upload them (any rate, channels, format), and the app served with fake models."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from engine_fakes import IdentityAE, NoisyAE
from lincae.data.library import TrackInfo
from lincae.engine import Engine
from lincae.models.base import ModelInfo
from lincae.rows import STEMS
from lincae.settings import Settings

FREQS = {"vocals": 440.0, "drums": 97.0, "bass": 55.0, "other": 660.0, "mixture": 330.0}
SR = 44100


def tone(freq: float, seconds: float = 1.0, rate: int = SR, channels: int = 1, amplitude: float = 0.2) -> np.ndarray:
    """`[frames, channels]`: the same sine on every channel."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(x[:, None], channels, axis=1)


def write(path: Path, audio: np.ndarray, rate: int = SR, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, subtype=subtype)
    return path


def stem_files(folder: Path, seconds: float = 1.0, rate: int = SR, channels: int = 1, ext: str = "wav",
               names=STEMS) -> dict[str, Path]:
    """One tone per stem (frequencies in FREQS), written as `<stem>.<ext>`."""
    return {s: write(folder / f"{s}.{ext}", tone(FREQS[s], seconds, rate, channels), rate) for s in names}


class Broken(IdentityAE):
    """Encodes fine, then fails while decoding: a model that breaks mid-way."""

    def decode(self, z, length, seed=None):
        raise RuntimeError("decoder exploded")


def info(name: str, available: bool = True, reason: str = "", linear: bool = True) -> ModelInfo:
    return ModelInfo(name, name.title(), "fake", "test", SR, embedded=True, linear=linear, available=available,
                     reason=reason, description=f"{name} for tests")


MODELS = [info("linear"), info("noisy", linear=False), info("broken"),
          info("gated", available=False, reason="needs an HF token")]
BASE_TRACKS = [TrackInfo("t1", "Bundled test track", "tests", "CC0")]


def fake_engine(cache_dir: Path) -> Engine:
    by_name = {m.name: m for m in (IdentityAE("linear"), NoisyAE("noisy"), Broken("broken"))}
    return Engine(device="cpu", cache_dir=cache_dir, loader=lambda name, device: by_name[name])


@contextmanager
def served_app(tmp: Path, engine: Engine | None = None, models=MODELS,
               settings: Settings = Settings()) -> Iterator[tuple[str, object]]:
    """The whole page (build_demo) on a free port with fake models and one bundled track; yields (url, builder)."""
    from browser import served
    from test_app import make_track
    from ui.layout import build_demo
    from ui.tables import TableBuilder

    engine = engine or fake_engine(tmp / "cache")
    bundled = {"t1": make_track("t1", 0.5)}
    builder = TableBuilder(engine, models, bundled.__getitem__, cells_dir=tmp / "cells")
    with served(build_demo(builder, BASE_TRACKS, settings), allowed_paths=[str(builder.cells_dir)]) as url:
        yield url, builder
