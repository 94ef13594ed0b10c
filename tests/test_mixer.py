"""The latent mixer: coefficients, the waveform reference, latent mixes per model, origin correction, cache."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf

from engine_fakes import IdentityAE, NoisyAE
from lincae import metrics
from lincae.engine import Engine
from lincae.rows import STEMS
from lincae.rows import combine_signals as waveform_mix
from test_app import Broken, info, loader_for, make_track
from ui.mixer import Mixer, coefficients, mix_rows
from ui.tables import TableBuilder

SR = 44100
ALL_ONE = {s: 1.0 for s in STEMS}


def audio_of(cell: dict) -> np.ndarray:
    audio, rate = sf.read(unquote(cell["url"].removeprefix("gradio_api/file=")), dtype="float32")
    assert rate == SR
    return audio * cell["gain"]


def final(mixer: Mixer, *args, **kwargs) -> tuple[dict, str, str]:
    updates = list(mixer.updates(*args, **kwargs))
    assert updates[-1].done and not any(u.done for u in updates[:-1])
    return json.loads(updates[-1].value), updates[-1].status, updates[-1].scores


@pytest.fixture
def fakes():
    return {"linear": IdentityAE("linear"), "offset": IdentityAE("offset", bias=0.05), "noisy": NoisyAE("noisy"),
            "broken": Broken("broken")}


@pytest.fixture
def builder(tmp_path, fakes):
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=loader_for(*fakes.values()))
    models = [info("linear"), info("offset"), info("noisy", linear=False),
              info("gated", available=False, reason="needs an HF token"), info("broken")]
    tracks = {"t1": make_track("t1", 0.3)}
    return TableBuilder(engine, models, tracks.__getitem__, cells_dir=tmp_path / "cells", seed=3)


def test_coefficients_are_gains_times_the_scale():
    assert coefficients({"vocals": 2.0, "bass": -1.0}, 1.5) == {"vocals": 3.0, "drums": 0.0, "bass": -1.5,
                                                                 "other": 0.0}
    with pytest.raises(KeyError, match="piano"):
        coefficients({"piano": 1.0})


def test_the_waveform_mix_applies_the_gains_to_the_stems():
    track = make_track("t", 0.1)
    wave, latent = mix_rows({"vocals": 0.5, "drums": -1.0}, origin_correction=False)
    assert wave.reference and not latent.reference and dict(latent.latent) == {"vocals": 0.5, "drums": -1.0}
    mix = waveform_mix(track, {"vocals": 0.5, "drums": -1.0})
    np.testing.assert_allclose(mix, 0.5 * track.stems["vocals"] - track.stems["drums"], atol=1e-7)
    np.testing.assert_allclose(wave.original_audio(track), mix)
    np.testing.assert_allclose(waveform_mix(track, ALL_ONE), track.mix, atol=1e-6)


def test_row_formulas_show_the_coefficients():
    wave, latent = mix_rows({"vocals": 2.0, "drums": -0.5, "bass": 0.0, "other": 0.0}, origin_correction=True)
    assert wave.reference and wave.id == "gt_mix"
    assert wave.formula == "2·x_vocals − 0.5·x_drums"
    assert latent.formula == "Dec(2·z_vocals − 0.5·z_drums − 0.5·Enc(silence))"


def test_a_linear_model_mixes_latents_like_waveforms(builder):
    gains = {"vocals": 2.0, "drums": -1.0, "bass": 0.5, "other": 0.0}
    value, status, scores = final(Mixer(builder), "t1", gains, scale=0.5)
    target = waveform_mix(make_track("t1", 0.3), coefficients(gains, 0.5))
    np.testing.assert_allclose(audio_of(value["reference"]["gt_mix"]), target, atol=1e-4)
    np.testing.assert_allclose(audio_of(value["cells"]["latent_mix"]["linear"]), target, atol=1e-4)
    assert [r["id"] for r in value["rows"]] == ["gt_mix", "latent_mix"]
    assert value["mix_peaks"], "the waveform mix is the player's mix waveform"
    assert "Mixed: 3 model(s)" in status and "broken" in status
    assert "| Linear |" in scores and "| Noisy |" in scores


def test_a_silent_waveform_mix_has_no_snr_but_the_latent_mix_level(builder):
    _, _, scores = final(Mixer(builder), "t1", {s: 1.0 for s in STEMS}, scale=0.0)
    linear = next(line for line in scores.splitlines() if line.startswith("| Linear |"))
    assert linear == "| Linear | silent target | silent | not computed yet |"  # Dec(0) of a linear model: silence
    offset = next(line for line in scores.splitlines() if line.startswith("| Offset |"))
    assert "silent target" in offset and "| -26.0 |" in offset  # a bias of 0.05 decodes to −26 dBFS, not silence
    assert "-105" not in scores and "e+" not in scores and "The waveform mix is silence" in scores


def test_scores_put_each_model_beside_its_own_reconstruction_of_the_song(builder):
    list(builder.updates("t1"))  # the page's table: the reconstruction comes from it
    _, _, scores = final(Mixer(builder), "t1", {s: 1.0 for s in STEMS})
    noisy = next(line for line in scores.splitlines() if line.startswith("| Noisy |")).split("|")
    table = builder.engine.cached_table(make_track("t1", 0.3), "noisy", seed=3)
    assert float(noisy[4]) == pytest.approx(metrics.spectral_snr(make_track("t1", 0.3).mix, table["ae_mix"]), abs=0.05)
    assert "compare the two columns, not a fixed number" in scores


def test_models_that_cannot_mix_are_not_available_with_a_reason(builder):
    value, _, _ = final(Mixer(builder), "t1", ALL_ONE)
    models = {m["name"]: m for m in value["models"]}
    assert not models["gated"]["available"] and models["gated"]["reason"] == "needs an HF token"
    assert not models["broken"]["available"] and "decoder exploded" in models["broken"]["reason"]
    assert set(value["cells"]["latent_mix"]) == {"linear", "offset", "noisy"}


def test_origin_correction_restores_a_mix_whose_gains_do_not_sum_to_one(builder):
    gains = {"vocals": 1.0, "drums": 1.0, "bass": 0.0, "other": 0.0}  # Σ = 2: the origin is counted twice
    target = waveform_mix(make_track("t1", 0.3), gains)
    plain, _, _ = final(Mixer(builder), "t1", gains)
    corrected, _, _ = final(Mixer(builder), "t1", gains, origin_correction=True)
    plain_error = np.abs(audio_of(plain["cells"]["latent_mix"]["offset"]) - target).max()
    corrected_error = np.abs(audio_of(corrected["cells"]["latent_mix"]["offset"]) - target).max()
    assert plain_error == pytest.approx(0.05, abs=1e-3)  # one extra Enc(silence) = bias decoded
    assert corrected_error < 1e-4
    assert "Enc(silence)" in corrected["rows"][1]["formula"]


def test_mixes_are_decoded_once_then_cached(builder, fakes):
    mixer = Mixer(builder)
    gains = {"vocals": 0.3, "drums": 1.0, "bass": 1.0, "other": 1.0}
    first, _, _ = final(mixer, "t1", gains)
    decodes = len(fakes["noisy"].decode_batches)
    again, _, _ = final(mixer, "t1", gains)
    assert len(fakes["noisy"].decode_batches) == decodes
    assert again["cells"] == first["cells"]
    final(mixer, "t1", {**gains, "vocals": 0.4})
    assert len(fakes["noisy"].decode_batches) == decodes + 1


def test_the_embedded_model_mixes_from_a_checkpoint(tmp_path, tiny_embedded_models):
    models = tiny_embedded_models
    track = make_track("t1", 0.5)
    builder = TableBuilder(Engine(device="cpu", cache_dir=tmp_path / "cache"), models, {"t1": track}.__getitem__,
                           cells_dir=tmp_path / "cells")
    value, status, _ = final(Mixer(builder), "t1", {"vocals": 1.0, "drums": 0.0, "bass": 0.0, "other": 0.0})
    audio = audio_of(value["cells"]["latent_mix"]["demo-lincae"])
    assert audio.shape == (track.num_samples,) and np.isfinite(audio).all() and np.abs(audio).max() > 0
    assert status.startswith("Mixed: 1 model(s).")
    assert Path(unquote(value["reference"]["gt_mix"]["url"].removeprefix("gradio_api/file="))).is_file()
