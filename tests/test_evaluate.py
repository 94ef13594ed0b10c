"""`python -m lincae.evaluate`: the table metrics (origin-corrected ones included) per model, the PCA yardstick
measured beside them, and both in the card."""
from __future__ import annotations

import math

import numpy as np

from lincae import evaluate
from lincae.data.track import Track
from lincae.models.pca_code import MdctPcaCode
from lincae.models.spectral_ae import SpectralAE, SpectralAEConfig, load_checkpoint, save_checkpoint
from lincae.rows import STEMS
from lincae.table_metrics import METRIC_KEYS


def _track() -> Track:
    rng = np.random.default_rng(0)
    t = np.arange(11025) / 44100
    stems = {s: (0.2 * np.sin(2 * np.pi * 110 * (i + 1) * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
             for i, s in enumerate(STEMS)}
    return Track(id="t", title="test", stems=stems)


def test_a_model_gets_every_table_metric_and_its_worst_homogeneity(tmp_path):
    save_checkpoint(SpectralAE(SpectralAEConfig(hidden=32, blocks=1)), tmp_path / "tiny.pt", {})
    result = evaluate.measure_track(load_checkpoint(tmp_path / "tiny.pt"), _track())
    assert set(METRIC_KEYS) | {"homogeneity_worst"} == set(result)
    assert all(math.isfinite(v) for v in result.values())
    assert {"additivity_origin_snr", "homogeneity_origin_worst", "recon_bandwidth_khz", "recon_log_mel_db"} <= set(result)


def test_the_pca_yardstick_is_measured_like_a_model():
    track = _track()
    exact = evaluate.measure_pca(MdctPcaCode(256).fit([track.mix]), track)
    assert set(exact) == set(evaluate.PCA_METRICS)
    assert exact["recon_spectral_snr"] > 60 and exact["recon_log_mel_db"] < 0.01
    assert exact["recon_bandwidth_khz"] == 22.05
    coarse = evaluate.measure_pca(MdctPcaCode(2).fit([track.mix]), track)
    assert coarse["recon_spectral_snr"] < exact["recon_spectral_snr"]


def test_a_recording_is_measured_by_the_same_reconstruction_metrics():
    audio = _track().mix
    exact = evaluate.measure_recording(lambda x: x.copy(), audio)
    assert set(exact) == set(evaluate.PCA_METRICS) and exact["recon_bandwidth_khz"] == 22.05
    code = MdctPcaCode(8).fit([audio])
    assert evaluate.measure_recording(evaluate.pca_autoencode(code), audio) == evaluate.measure_pca(code, _track())


def test_the_card_shows_targets_the_yardstick_recordings_and_training_stages():
    numbers = {k: 1.0 for k in (*METRIC_KEYS, "homogeneity_worst")}
    pca = {k: 2.0 for k in evaluate.PCA_METRICS}
    recordings = {k: 3.0 for k in evaluate.PCA_METRICS}
    result = {"generated_songs": numbers, "musdb_excerpt": numbers, "recordings": recordings, "recording_count": 10,
              "pca": {"generated_songs": pca, "musdb_excerpt": pca, "recordings": pca}, "date": "2026-01-01",
              "threads": 2, "realtime_factor": 99.0}
    info = {"recipe": {"linear": True}, "train_songs": "songs", "clip_seconds": 0.5, "batch": 8, "steps": 30,
            "wall_seconds": 3600, "threads": 1, "parameters": 1000, "compression": 4.0, "power": 0.9,
            "mel_weight": 0.5, "band_weight": 1.0, "exponent_lr_scale": 0.0,
            "earlier_stages": [{"steps": 10, "mel_weight": 0.5, "band_weight": 0.0, "exponent_lr_scale": 20.0,
                                "power": 0.9}]}
    card = evaluate.model_card("demo-x", info, result)
    assert "| PCA64 songs |" in card and "64 latent values per 256 audio samples" in card
    assert "| Recon. log-mel distance (dB) | 1.00 | 1.00 | 3.00 | 2.00 | 2.00 | 2.00 | ≤ 4 |" in card
    assert "| Additivity + origin (dB) | 1.00 | 1.00 |  |  |  |  |  |" in card
    assert "| Recon. bandwidth (kHz) | 1.00 | 1.00 | 3.00 | 2.00 | 2.00 | 2.00 | ≥ 5 |" in card
    assert "10 sonic-pi-samples recordings kept out of training" in card
    assert "30 in all: 10 steps (p trained; loss waveform + spectral convergence + 0.5·log-mel), then 20 steps " \
           "(p fixed at 0.900; loss waveform + spectral convergence + 0.5·log-mel + 1·band-balanced" in card
    assert "Dec(a·z) = a^(1/p)·Dec(z)" in card and "×0.1 decodes at 0.774 of the wanted level, 10.7 dB" in card
    assert "validation" not in card  # no comparison the evaluation does not make
