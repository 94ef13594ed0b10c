import numpy as np
import pytest

from lincae import audio


def test_to_mono_accepts_both_layouts():
    stereo_tc = np.stack([np.ones(100), -np.ones(100) * 0.5], axis=1)  # [T, C]
    np.testing.assert_allclose(audio.to_mono(stereo_tc), np.full(100, 0.25))
    np.testing.assert_allclose(audio.to_mono(stereo_tc.T), np.full(100, 0.25))  # [C, T]
    mono = np.arange(5, dtype=np.float32)
    assert audio.to_mono(mono) is mono or np.array_equal(audio.to_mono(mono), mono)
    with pytest.raises(ValueError):
        audio.to_mono(np.zeros((2, 2, 2)))


def test_resample_keeps_a_sine_and_changes_the_length():
    sr = 44100
    t = np.arange(sr) / sr
    x = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    y = audio.resample(x, sr, 16000)
    assert y.dtype == np.float32 and len(y) == 16000
    ref = np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    assert np.max(np.abs(y[500:-500] - ref[500:-500])) < 1e-3
    assert audio.resample(x, sr, sr) is x


def test_fit_length_trims_and_pads():
    x = np.ones((2, 5))
    assert audio.fit_length(x, 3).shape == (2, 3)
    padded = audio.fit_length(x, 7)
    assert padded.shape == (2, 7) and padded[:, 5:].sum() == 0


def test_wav_round_trip_is_16_bit_and_atomic(tmp_path):
    x = (0.5 * np.sin(np.linspace(0, 50, 4410))).astype(np.float32)
    path = audio.write_wav(tmp_path / "sub" / "a.wav", x, 44100)
    assert [p.name for p in path.parent.iterdir()] == ["a.wav"]
    y, sr = audio.load(path)
    assert sr == 44100 and np.max(np.abs(y - x)) <= 1 / 32768
    y22, sr22 = audio.load(path, sample_rate=22050)
    assert sr22 == 22050 and len(y22) == 2205


def test_load_downmixes_stereo(tmp_path):
    import soundfile as sf

    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.1)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    y, _ = audio.load(tmp_path / "s.wav")
    np.testing.assert_allclose(y, 0.2, atol=1e-6)


def test_peaks_are_min_max_pairs_per_bin():
    x = np.array([0, 1, -2, 3, 0.5, -0.5, 0, 0], dtype=np.float32)
    assert audio.peaks(x, n=4) == [0.0, 1.0, -2.0, 3.0, -0.5, 0.5, 0.0, 0.0]
    assert audio.peaks(x, n=100) == [v for s in x for v in (float(s), float(s))]  # fewer samples than bins
    assert len(audio.peaks(np.random.default_rng(0).standard_normal(44100), n=800)) == 1600
    assert audio.peaks(np.zeros(0)) == []
    assert audio.peaks(np.array([0.123456], dtype=np.float32), decimals=2) == [0.12, 0.12]


def test_peak():
    assert audio.peak(np.array([0.1, -3.0, 2.0])) == 3.0
    assert audio.peak(np.zeros(0)) == 0.0
