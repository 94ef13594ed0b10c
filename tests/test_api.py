"""The named endpoints through gradio_client, against the app served in this process."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from lincae.data.uploads import build_track
from lincae.engine import Engine
from lincae.rows import ROW_IDS, STEMS
from lincae.table_metrics import METRIC_KEYS
from upload_files import SR, served_app, stem_files, tone, write


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    with served_app(tmp) as (url, builder):
        yield Client(url, verbose=False), builder


@pytest.fixture(scope="module")
def stems(tmp_path_factory) -> dict[str, Path]:
    return stem_files(tmp_path_factory.mktemp("stems"), seconds=0.6, rate=48000, channels=2)


def files(paths: dict[str, Path]) -> dict:
    return {name: handle_file(str(p)) for name, p in paths.items()}


def read(path: str) -> np.ndarray:
    audio, rate = sf.read(path, dtype="float32")
    assert rate == SR
    return audio


def test_list_models_says_which_run_here_and_why_not(app):
    client, _ = app
    models = {m["name"]: m for m in client.predict(api_name="/list_models")}
    assert list(models) == ["linear", "noisy", "broken", "gated"]
    assert models["linear"]["available"] and models["linear"]["linear"]
    assert not models["gated"]["available"] and models["gated"]["reason"] == "needs an HF token"
    assert set(models["noisy"]) == {"name", "display_name", "linear", "embedded", "available", "reason", "description"}


def test_process_stems_returns_every_row_as_a_wav_and_metrics(app, stems):
    client, _ = app
    paths, summary = client.predict(**files(stems), model="linear", api_name="/process_stems")
    assert [Path(p).name for p in paths] == [f"{row}.wav" for row in ROW_IDS] == [f"{r}.wav" for r in summary["rows"]]
    audio = {Path(p).stem: read(p) for p in paths}
    expected = build_track(stems).track  # what the server built from the same files
    assert summary["track"]["id"] == expected.id and summary["track"]["mode"] == "stems"
    assert {len(a) for a in audio.values()} == {expected.num_samples}
    # The linear fake decodes exactly: every row is the operation applied to the audio.
    np.testing.assert_allclose(audio["gt_mix"], expected.mix, atol=1e-6)
    np.testing.assert_allclose(audio["ae_mix"], expected.mix, atol=1e-5)
    np.testing.assert_allclose(audio["additivity"], expected.mix, atol=1e-5)
    np.testing.assert_allclose(audio["sep_vocals"], expected.stems["vocals"], atol=1e-5)
    np.testing.assert_allclose(audio["scale_0_1"], 0.1 * expected.stems["vocals"], atol=1e-5)
    assert summary["metrics"]["additivity_snr"] > 60 and summary["metrics"]["homogeneity_2_0"] > 60
    assert set(summary["metrics"]) == set(summary["metrics_help"]) == set(METRIC_KEYS)
    assert summary["model"] == "linear" and summary["seed"] == 0 and summary["warnings"] == []


def test_outputs_louder_than_full_scale_keep_their_level(app, tmp_path):
    client, _ = app
    loud = {s: write(tmp_path / f"{s}.wav", tone(220.0 * (i + 1), 0.5, amplitude=0.8), SR) for i, s in enumerate(STEMS)}
    paths, _ = client.predict(**files(loud), model="linear", api_name="/process_stems")
    by_row = {Path(p).stem: read(p) for p in paths}
    assert np.abs(by_row["scale_2_0"]).max() == pytest.approx(1.6, abs=1e-3)  # float WAV: not clipped
    assert np.abs(by_row["gt_mix"]).max() > 1.5


def test_the_seed_reaches_a_stochastic_decoder(app, stems):
    client, _ = app
    [a, _], [b, _], [c, _] = (client.predict(**files(stems), model="noisy", seed=s, api_name="/process_stems")
                              for s in (1, 1, 2))
    assert np.array_equal(read(a[1]), read(b[1])) and not np.allclose(read(a[1]), read(c[1]))


def test_process_stems_accepts_a_mixture_and_its_vocals(app, tmp_path):
    client, _ = app
    vocals, accomp = tone(440.0, 0.5), tone(110.0, 0.5, amplitude=0.3)
    given = {"mixture": write(tmp_path / "mix.flac", vocals + accomp, SR), "vocals": write(tmp_path / "v.flac", vocals, SR)}
    paths, summary = client.predict(**files(given), model="linear", api_name="/process_stems")
    assert summary["track"]["mode"] == "mixture+vocals"
    by_row = {Path(p).stem: read(p) for p in paths}
    np.testing.assert_allclose(by_row["sep_vocals"], vocals[:, 0], atol=1e-3)  # FLAC is 16-bit


def test_mix_latents_decodes_the_gained_latents_beside_the_waveform_mix(app, stems):
    client, builder = app
    gains = {"vocals_gain": -1.0, "drums_gain": 0.5, "bass_gain": 2.0, "other_gain": 0.0}
    latent, waveform, summary = client.predict(**files(stems), model="linear", **gains, api_name="/mix_latents")
    assert (Path(latent).name, Path(waveform).name) == ("latent_mix.wav", "waveform_mix.wav")
    track = build_track(stems).track
    expected = sum(g * track.stems[k.removesuffix("_gain")] for k, g in gains.items())
    np.testing.assert_allclose(read(waveform), expected, atol=1e-6)
    np.testing.assert_allclose(read(latent), expected, atol=1e-5)  # exactly linear model
    assert summary["gains"] == {"vocals": -1.0, "drums": 0.5, "bass": 2.0, "other": 0.0}
    assert summary["spectral_snr_db"] > 60 and summary["origin_correction"] is False
    # The decode went through the engine's cache, like the mixer's.
    assert builder.engine.decode_combination(track, "linear", {"vocals": -1, "drums": 0.5, "bass": 2}) is not None


def test_mix_latents_with_origin_correction_differs_for_an_encoder_with_an_offset(tmp_path, stems):
    """Enc(silence) ≠ 0: the correction adds it back (1 − Σ gains) times, which the plain mix does not."""
    from engine_fakes import IdentityAE

    offset = IdentityAE("linear", bias=0.05)
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: offset)
    with served_app(tmp_path, engine=engine) as (url, _):
        client = Client(url, verbose=False)
        args = dict(**files(stems), model="linear", vocals_gain=0.0, api_name="/mix_latents")
        plain, waveform, _ = client.predict(**args)
        corrected, _, summary = client.predict(**args, origin_correction=True)
    assert summary["origin_correction"] is True
    assert not np.allclose(read(plain), read(waveform), atol=1e-3)  # the offset of the three summed latents leaks
    np.testing.assert_allclose(read(corrected), read(waveform), atol=1e-5)


def test_the_embedded_model_runs_end_to_end(tmp_path, stems, tiny_embedded_models):
    """The real registry and a real (tiny) embedded checkpoint, as `app.py` wires them."""
    models = tiny_embedded_models
    with served_app(tmp_path, engine=Engine(device="cpu", cache_dir=tmp_path / "cache"), models=models) as (url, _):
        client = Client(url, verbose=False)
        paths, summary = client.predict(**files(stems), model="demo-lincae", api_name="/process_stems")
        with pytest.raises(Exception, match="demo-ae cannot run here: embedded checkpoint not found"):
            client.predict(**files(stems), model="demo-ae", api_name="/process_stems")
    lengths = {len(read(p)) for p in paths}
    assert lengths == {build_track(stems).track.num_samples}
    assert all(np.isfinite(summary["metrics"][k]) for k in METRIC_KEYS)  # deterministic: SI-SDR too
