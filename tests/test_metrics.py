import math
import time
from concurrent.futures import ThreadPoolExecutor

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


@pytest.mark.parametrize("sample_rate, n_fft, n_mels", [(44100, 2048, 80), (44100, 256, 32), (16000, 512, 20)])
def test_mel_filterbank_is_librosas(sample_rate, n_fft, n_mels):
    librosa = pytest.importorskip("librosa", reason="librosa is the reference the filter bank is checked against")
    reference = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, htk=False, norm="slaney",
                                    dtype=np.float64)
    ours = M.mel_filterbank(sample_rate, n_fft, n_mels)
    assert ours.shape == reference.shape and not ours.flags.writeable
    np.testing.assert_allclose(ours, reference, rtol=1e-9, atol=1e-12)


def test_mel_distance(x):
    assert M.mel_distance(x, x, SR) == pytest.approx(0.0, abs=1e-12)
    near, far = M.mel_distance(x, 1.05 * x, SR), M.mel_distance(x, 2 * x, SR)
    assert 0 < near < far


def test_inputs_must_be_mono_and_of_equal_length():
    with pytest.raises(ValueError):
        M.snr(np.ones((2, 5)), np.ones((2, 5)))
    with pytest.raises(ValueError):
        M.mrstft(np.ones(3000), np.ones(3001))


def test_log_mel_db_of_a_known_gain_and_floor(x):
    assert M.log_mel_db(x, 0.5 * x, SR) == pytest.approx(20 * math.log10(2), abs=1e-6)
    assert M.log_mel_db(x, x, SR) == 0.0
    # silence sits at the floor, 80 dB below the loudest mel bin: at most 80 dB away
    assert 0 < M.log_mel_db(x, np.zeros_like(x), SR) <= 80


def test_bandwidth_is_where_the_band_snr_first_drops_below_6_db():
    rng = np.random.default_rng(6)
    noise = rng.standard_normal(SR)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    lowpassed = np.fft.irfft(np.where(freqs < 3000, spectrum, 0), SR)
    edges, snrs, share = M.band_snrs(noise, lowpassed, SR)
    assert share.sum() == pytest.approx(1.0, abs=0.01)
    width = M.bandwidth(noise, lowpassed, SR)
    assert width in edges and 2000 < width <= 3000  # the band holding 3 kHz is cut
    assert M.bandwidth(noise, noise, SR) == SR / 2


def test_while_remembered_a_reference_is_transformed_once(x, monkeypatch):
    calls = []
    transform = M.stft_magnitude
    monkeypatch.setattr(M, "stft_magnitude", lambda a, *args: calls.append(args) or transform(a, *args))
    y, z = 0.5 * x, x + 0.1 * np.roll(x, 7)
    alone = [M.mrstft(x, y), M.mrstft(x, z), M.spectral_snr(x, z)]
    assert len(calls) == 14
    calls.clear()
    with M.reference_spectra():
        remembered = [M.mrstft(x, y), M.mrstft(x, z), M.spectral_snr(x, z)]
    assert remembered == alone
    assert len(calls) == 11  # x's three MR-STFT spectra and its spectral-SNR one once each, y's and z's seven
    calls.clear()
    M.mrstft(x, y)
    assert len(calls) == 6  # forgotten after the block


def test_threads_measuring_against_one_reference_transform_it_once(x, monkeypatch):
    transformed = []
    transform = M.stft_magnitude

    def slow_transform(a, *args):
        transformed.append((a[:4].tobytes(), args))
        time.sleep(0.05)  # long enough for the other thread to ask for the same spectrum meanwhile
        return transform(a, *args)

    monkeypatch.setattr(M, "stft_magnitude", slow_transform)
    estimates = [0.5 * x, x + 0.1 * np.roll(x, 7)]
    with M.reference_spectra(), ThreadPoolExecutor(2) as pool:
        side_by_side = list(pool.map(lambda e: M.mrstft(x, e), estimates))
    reference = x[:4].tobytes()
    assert sorted(args for a, args in transformed if a == reference) == sorted(M.MRSTFT_RESOLUTIONS)  # once each
    monkeypatch.setattr(M, "stft_magnitude", transform)
    assert side_by_side == [M.mrstft(x, e) for e in estimates]
