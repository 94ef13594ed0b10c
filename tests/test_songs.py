"""The song generator: deterministic, exact stem sum, no clipping, every stem audible."""
from __future__ import annotations

import numpy as np
import pytest

from lincae.data.instruments import missing_tools
from lincae.rows import STEMS

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=f"generator tools missing: {missing_tools()}")


@pytest.fixture(scope="module")
def song():
    from lincae.data.songs import render_song

    return render_song(7, duration=3.0)


def test_same_seed_same_samples(song):
    from lincae.data.songs import render_song

    again = render_song(7, duration=3.0)
    for stem in STEMS:
        np.testing.assert_array_equal(song.stems[stem], again.stems[stem])


def test_other_seed_other_song(song):
    from lincae.data.songs import render_song

    other = render_song(8, duration=3.0)
    assert not np.allclose(song.mix, other.mix)


def test_stems_are_mono_44k_and_the_mix_is_their_exact_sum(song):
    assert song.sample_rate == 44100
    assert song.num_samples == 3 * 44100
    total = np.zeros(song.num_samples, np.float32)
    for stem in STEMS:
        assert song.stems[stem].dtype == np.float32 and song.stems[stem].ndim == 1
        total += song.stems[stem]
    np.testing.assert_array_equal(song.mix, total)


def test_nothing_clips(song):
    assert np.abs(song.mix).max() <= 0.9 + 1e-6
    assert max(np.abs(s).max() for s in song.stems.values()) <= 0.9 + 1e-6


def test_every_stem_is_audible(song):
    for stem in STEMS:
        rms_db = 20 * np.log10(np.sqrt(np.mean(song.stems[stem] ** 2)))
        assert rms_db > -40, f"{stem} is nearly silent ({rms_db:.1f} dBFS)"


def test_vocals_are_sung_at_the_melody_pitch():
    """One sung note: its fundamental must sit within a few percent of the requested pitch."""
    from lincae.data.instruments import singer

    note = singer().syllable("laaa", 220.0, 100, 90)
    spectrum = np.abs(np.fft.rfft(note * np.hanning(len(note)), 1 << 18))
    freqs = np.fft.rfftfreq(1 << 18, 1 / 44100)
    band = (freqs > 150) & (freqs < 300)
    assert abs(freqs[band][np.argmax(spectrum[band])] / 220.0 - 1) < 0.05
