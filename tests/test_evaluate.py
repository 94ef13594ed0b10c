"""Model cards: the table metrics of an embedded model, and a card that claims only what was measured."""
from __future__ import annotations

import numpy as np
import torch

from lincae import evaluate
from lincae.data.track import Track
from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig, load_checkpoint, read_info, save_checkpoint
from lincae.table_metrics import METRIC_KEYS


def test_a_card_reports_the_table_metrics(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.pt"
    save_checkpoint(SpectralAE(SpectralAEConfig(hidden=16, blocks=1)), path,
                    {"recipe": {"linear": True}, "train_songs": "songs", "clip_seconds": 1, "batch": 2, "steps": 3,
                     "wall_seconds": 1.0, "threads": 1, "parameters": 10, "compression": 16.0})
    model = load_checkpoint(path)
    t = np.arange(11025) / 44100
    track = Track("t", "Tones", {s: (0.1 * np.sin(2 * np.pi * f * t)).astype(np.float32)
                                 for s, f in zip(("vocals", "drums", "bass", "other"), (440, 97, 55, 660))})
    measured = evaluate.measure_track(model, track)
    assert set(measured) == {*METRIC_KEYS, "homogeneity_worst"} and all(np.isfinite(list(measured.values())))
    assert measured["homogeneity_worst"] == min(measured[k] for k in METRIC_KEYS if k.startswith("homogeneity"))
    result = {"generated_songs": measured, "date": "today", "threads": 1, "realtime_factor": 99.0}
    card = evaluate.model_card("tiny", read_info(path), result)
    assert "Recon. spectral SNR (dB)" in card and f"{measured['separation_snr']:.2f}" in card
    assert "validation" not in card  # no comparison the evaluation does not make
