import math

import numpy as np
import pytest
import torch

from lincae import metrics as M

SR = 44100


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal(SR // 2)


def test_snr_of_a_known_error(x):
    e = np.random.default_rng(1).standard_normal(len(x))
    e *= np.linalg.norm(x) / np.linalg.norm(e) / 10  # error power 1/100 of the signal: 20 dB
    assert M.snr(x, x + e) == pytest.approx(20.0, abs=1e-6)
    assert M.snr(x, 0.5 * x) == pytest.approx(20 * math.log10(2), abs=1e-6)
    assert M.snr(x, x) > 100
    assert math.isfinite(M.snr(np.zeros(10), np.zeros(10)))


def test_si_sdr_ignores_scale_and_measures_orthogonal_noise(x):
    assert M.si_sdr(x, 3.0 * x) > 100
    x0 = x - x.mean()
    n = np.random.default_rng(2).standard_normal(len(x))
    n -= n.mean()
    n -= np.dot(n, x0) / np.dot(x0, x0) * x0  # orthogonal to the reference
    n *= np.linalg.norm(x0) / np.linalg.norm(n) / math.sqrt(10)  # 10 dB
    assert M.si_sdr(x, 2.0 * x0 + 2.0 * n) == pytest.approx(10.0, abs=1e-6)


def test_rel_l2():
    assert M.rel_l2([3.0, 4.0], [3.0, 4.0]) == 0.0
    assert M.rel_l2([3.0, 4.0], [0.0, 0.0]) == pytest.approx(1.0)
    assert M.rel_l2(np.ones((2, 2)), 1.5 * np.ones((2, 2))) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        M.rel_l2(np.ones(3), np.ones(4))


@pytest.mark.parametrize("n_fft,hop,win", M.MRSTFT_RESOLUTIONS)
def test_stft_magnitude_matches_torch(x, n_fft, hop, win):
    ours = M.stft_magnitude(x, n_fft, hop, win)
    ref = torch.stft(
        torch.from_numpy(x), n_fft, hop, win, window=torch.hann_window(win, dtype=torch.float64),
        center=True, pad_mode="reflect", return_complex=True,
    ).abs().T.numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-8)


def test_mrstft_of_a_doubled_signal(x):
    assert M.mrstft(x, x) == pytest.approx(0.0, abs=1e-9)
    # |2X| vs |X|: spectral convergence 1, mean |log 2| → 1 + ln 2 at every resolution
    assert M.mrstft(x, 2 * x) == pytest.approx(1 + math.log(2), rel=1e-4)


def test_spectral_snr_is_blind_to_phase(x):
    assert M.spectral_snr(x, 1.1 * x) == pytest.approx(20.0, abs=1e-6)
    assert M.spectral_snr(x, -x) > 100  # a polarity flip changes no magnitude
    assert M.snr(x, -x) < 0


def test_mel_scale_known_values_and_inverse():
    assert float(M.hz_to_mel(1000.0)) == pytest.approx(15.0)
    assert float(M.hz_to_mel(500.0)) == pytest.approx(7.5)
    assert float(M.hz_to_mel(2000.0)) == pytest.approx(15 + 27 * math.log(2) / math.log(6.4))
    f = np.array([0.0, 440.0, 1000.0, 5000.0, 20000.0])
    np.testing.assert_allclose(M.mel_to_hz(M.hz_to_mel(f)), f, rtol=1e-10, atol=1e-9)


def test_mel_filterbank_triangles():
    fb = M.mel_filterbank(16000, 512, 20)
    assert fb.shape == (20, 257) and fb.min() >= 0
    freqs = np.linspace(0, 8000, 257)
    centres = M.mel_to_hz(np.linspace(M.hz_to_mel(0), M.hz_to_mel(8000), 22))[1:-1]
    peaks = freqs[fb.argmax(axis=1)]
    assert np.all(np.abs(peaks - centres) <= 8000 / 256)  # each filter peaks at its centre (± one bin)
    assert np.all(np.diff(peaks) >= 0)
    # Slaney area normalisation: peak height 2 / (upper − lower) in Hz
    edges = M.mel_to_hz(np.linspace(M.hz_to_mel(0), M.hz_to_mel(8000), 22))
    assert fb[10].max() <= 2 / (edges[12] - edges[10]) + 1e-12


def test_mel_distance(x):
    assert M.mel_distance(x, x, SR) == pytest.approx(0.0, abs=1e-12)
    near, far = M.mel_distance(x, 1.05 * x, SR), M.mel_distance(x, 2 * x, SR)
    assert 0 < near < far


# --- linearity measures, against functions whose behaviour is known ---------------------------------

def identity(v):
    return np.asarray(v, dtype=np.float64)


def square(v):
    return np.asarray(v, dtype=np.float64) ** 2


def test_decoder_homogeneity():
    z = np.random.default_rng(3).standard_normal(1000)
    assert M.decoder_homogeneity(identity, z, 0.5) > 100
    # Dec(z) = z²: reference a²z², estimate a·z² → SNR = 20·log10(a / |a − 1|)
    assert M.decoder_homogeneity(square, z, 2.0) == pytest.approx(20 * math.log10(2), abs=1e-6)


def test_decoder_additivity_and_separation_are_perfect_for_a_linear_pair():
    rng = np.random.default_rng(4)
    sources = [rng.standard_normal(500) for _ in range(3)]
    assert M.decoder_additivity(identity, identity, sources) > 100
    mix = np.sum(sources, axis=0)
    assert M.separation(identity, identity, mix, sources[0]) > 100


def test_decoder_additivity_of_a_nonlinear_encoder():
    a, b = np.full(4, 1.0), np.full(4, 2.0)
    # Enc = square: Dec(Enc(a + b)) = 9, Dec(Enc a + Enc b) = 5 → SNR = 10·log10(81 / 16)
    assert M.decoder_additivity(identity, square, [a, b]) == pytest.approx(10 * math.log10(81 / 16), abs=1e-6)


def test_encoder_measures():
    x1, x2 = np.full(8, 1.0), np.full(8, 3.0)
    assert M.encoder_homogeneity(identity, x1, 0.5) == 0.0
    assert M.encoder_additivity(identity, x1, x2) == 0.0
    # Enc = square: rel-L2(a·x², a²·x²) = |1 − a|
    assert M.encoder_homogeneity(square, x2, 0.5) == pytest.approx(0.5)
    # Enc = square: rel-L2((x1 + x2)², x1² + x2²) = 2·x1·x2 / (x1 + x2)² = 6 / 16
    assert M.encoder_additivity(square, x1, x2) == pytest.approx(6 / 16)


def test_inputs_must_be_mono_and_of_equal_length():
    with pytest.raises(ValueError):
        M.snr(np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError):
        M.mrstft(np.ones(3000), np.ones(3001))
