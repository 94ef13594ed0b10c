"""Per track × model analysis: metrics that separate linear from non-linear models, curves, cache, figures."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from engine_fakes import IdentityAE, NoisyAE
from lincae import analysis
from lincae.analysis import CURVE_GAINS, analyse
from lincae.data.track import Track
from lincae.engine import Engine
from lincae.rows import SCALES, STEMS
from lincae.table_metrics import METRIC_KEYS

SR = 44100


class SaturatingAE(IdentityAE):
    """Deterministic, exact reconstruction, non-linear latent space: z = tanh(3x), Dec(z) = atanh(z) / 3. Sums and
    gains of latents leave the curve they were encoded on."""

    def encode(self, x):
        return torch.tanh(3 * super().encode(x))

    def decode(self, z, length, seed=None):
        return super().decode(torch.atanh(z.clamp(-0.999, 0.999)) / 3, length, seed)


class OffsetAE(IdentityAE):
    """Linear up to its origin: Enc(silence) = bias ≠ 0. Plain subtraction removes the bias, origin correction
    puts it back."""

    def __init__(self, name: str) -> None:
        super().__init__(name, bias=0.05)


def make_track(seconds: float = 0.25) -> Track:
    t = np.arange(int(seconds * SR)) / SR
    freqs = {"vocals": 440.0, "drums": 97.0, "bass": 55.0, "other": 660.0}
    stems = {s: (0.2 * np.sin(2 * np.pi * f * t)).astype(np.float32) for s, f in freqs.items()}
    return Track(id="t", title="Test track", stems=stems)


@pytest.fixture
def models():
    return {m.name: m for m in (IdentityAE("linear"), NoisyAE("noisy"), SaturatingAE("saturating"),
                                OffsetAE("offset"))}


@pytest.fixture
def engine(tmp_path, models):
    return Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: models[name])


def test_an_exactly_linear_model_scores_high_everywhere(engine):
    result = analyse(engine, make_track(), "linear", seed=1)
    assert result.deterministic
    m = result.metrics
    assert set(m) == set(METRIC_KEYS)
    assert m["recon_spectral_snr"] > 60 and m["recon_si_sdr"] > 60
    assert m["recon_mrstft"] < 1e-3 and m["recon_mel"] < 1e-3
    assert m["additivity_snr"] > 60 and m["separation_snr"] > 60
    assert m["additivity_origin_snr"] > 60 and m["homogeneity_origin_worst"] > 60
    assert m["recon_log_mel_db"] < 1e-3 and m["recon_bandwidth_khz"] == pytest.approx(make_track().sample_rate / 2000)
    assert all(v > 60 for v in result.homogeneity.values())
    assert sorted(result.homogeneity) == sorted(CURVE_GAINS)
    for latent_sum, encoded_sum in result.additivity.values():
        assert latent_sum > 60 and encoded_sum > 60


def test_a_saturating_decoder_fails_homogeneity_and_additivity(engine):
    linear = analyse(engine, make_track(), "linear")
    bad = analyse(engine, make_track(), "saturating")
    assert bad.deterministic
    # Louder latents saturate more: the curve falls with the gain.
    assert bad.homogeneity[3.0] < bad.homogeneity[0.5] < linear.homogeneity[0.5]
    assert bad.metrics["homogeneity_2_0"] < 20
    assert bad.metrics["additivity_snr"] < 40
    # Summing more stems drives the decoder further into saturation, while encoding the sum does not change
    # the reconstruction: the gap between the two lines grows with the number of stems.
    gaps = [bad.additivity[k][1] - bad.additivity[k][0] for k in range(1, len(STEMS) + 1)]
    assert gaps[0] == pytest.approx(0.0)
    assert gaps[-1] > gaps[1] > 0.1


def test_a_stochastic_model_gets_no_waveform_si_sdr(engine):
    result = analyse(engine, make_track(), "noisy", seed=2)
    assert not result.deterministic
    assert math.isnan(result.metrics["recon_si_sdr"])
    headers, rows = analysis.metrics_table([result], {"noisy": "Noisy AE"})
    assert rows[0][0] == "Noisy AE"
    assert rows[0][1 + METRIC_KEYS.index("recon_si_sdr")] is None
    assert len(headers) == len(rows[0]) == len(METRIC_KEYS) + 1
    # Decode-vs-decode with a shared seed: Dec(a·z) = a·x + n, a·Dec(z) = a·(x + n), so the error is (1 − a)·n.
    assert result.homogeneity[0.75] > result.homogeneity[0.25]


def test_origin_correction_repairs_separation_for_an_offset_encoder(engine):
    result = analyse(engine, make_track(), "offset")
    assert result.metrics["separation_snr"] < 20
    assert result.metrics["separation_origin_snr"] > 60
    assert result.metrics["additivity_snr"] < 20 and result.metrics["additivity_origin_snr"] > 60
    assert result.metrics["homogeneity_0_1"] < 20 and result.metrics["homogeneity_origin_worst"] > 60


def test_table_columns_and_curve_agree(engine):
    result = analyse(engine, make_track(), "saturating")
    for a in SCALES:
        assert result.metrics[f"homogeneity_{str(a).replace('.', '_')}"] == result.homogeneity[a]


def test_results_are_cached_across_engines(tmp_path, models, engine):
    track = make_track()
    first = analyse(engine, track, "saturating", seed=4)
    decodes = len(models["saturating"].decode_batches)
    assert decodes > 0
    again = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: models[name])
    second = analyse(again, track, "saturating", seed=4)
    assert len(models["saturating"].decode_batches) == decodes  # nothing decoded the second time
    assert second.metrics == pytest.approx(first.metrics, nan_ok=True)
    assert second.additivity == first.additivity and second.deterministic == first.deterministic
    analyse(again, track, "saturating", seed=5)  # another seed is another analysis
    assert len(models["saturating"].decode_batches) > decodes


def test_reference_of_each_row():
    track = make_track()
    np.testing.assert_allclose(analysis.reference_audio(track, "additivity"), track.mix)
    np.testing.assert_allclose(analysis.reference_audio(track, "sep_vocals"), track.stems["vocals"])
    np.testing.assert_allclose(analysis.reference_audio(track, "scale_2_0"), 2 * track.stems["vocals"])
    with pytest.raises(KeyError):
        analysis.reference_audio(track, "nope")


def test_one_partial_track_holds_the_sums_of_the_first_two_and_three_stems():
    track = make_track()
    part = analysis.partial_track(track)
    np.testing.assert_allclose(part.stems["vocals"], track.stems["vocals"] + track.stems["drums"], atol=1e-7)
    np.testing.assert_allclose(part.mix, track.stems["vocals"] + track.stems["drums"] + track.stems["bass"],
                               atol=1e-6)
    assert part.content_hash != track.content_hash


def test_metrics_alone_skip_the_curves_and_agree_with_the_full_analysis(engine):
    quick = analyse(engine, make_track(), "saturating", curves=False)
    assert quick.homogeneity == {} and quick.additivity == {}
    assert quick.metrics == analyse(engine, make_track(), "saturating").metrics


def test_figures_have_one_line_per_model_and_curve(engine, tmp_path):
    results = [analyse(engine, make_track(), name) for name in ("linear", "saturating")]
    fig = analysis.homogeneity_figure(results, {"linear": "Linear"})
    assert isinstance(fig, Figure)
    [ax] = fig.axes
    assert [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")] == [
        "Linear", "saturating"]
    fig = analysis.additivity_figure(results)
    assert len([ln for ln in fig.axes[0].get_lines()]) == 4  # solid + dashed per model
    track = make_track()
    fig = analysis.spectrogram_figure(track.stems["vocals"], track.mix, SR, "cell", "reference")
    assert [ax.get_title() for ax in fig.axes[:2]] == ["reference", "cell"]
    fig.savefig(tmp_path / "spec.png")
    assert (tmp_path / "spec.png").stat().st_size > 10_000


def test_spectrogram_shows_a_tone_at_its_frequency():
    t = np.arange(SR // 2) / SR
    spec = analysis.spectrogram_db(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    peak_bin = int(np.argmax(spec.mean(axis=1)))
    assert peak_bin * SR / 2048 == pytest.approx(1000, abs=SR / 2048)


def test_the_drawn_spectrogram_keeps_a_tone_in_the_band_of_its_frequency():
    t = np.arange(SR // 2) / SR
    spec = analysis.spectrogram_db(np.sin(2 * np.pi * 3000 * t).astype(np.float32))
    edges, bands = analysis.log_frequency_bands(spec, SR, low_hz=30.0, bands=100)
    assert len(bands) == len(edges) - 1 <= 100 and bands.shape[1] == spec.shape[1]
    assert edges[0] <= 30.0 and edges[-1] == SR / 2 and np.all(np.diff(edges) > 0)
    loudest = int(np.argmax(bands.mean(axis=1)))
    assert edges[loudest] <= 3000 < edges[loudest + 1]
    assert bands.max() == spec[:-1].max()  # each band is its loudest bin: peaks are never averaged away
