import numpy as np
import soundfile as sf

from lincae.engine.cells import make_cell, wav_path


def test_cell_writes_a_16_bit_wav_once_per_content(tmp_path):
    x = (0.5 * np.sin(np.linspace(0, 100, 8000))).astype(np.float32)
    cell = make_cell(x, 16000, tmp_path)
    assert cell.path == wav_path(tmp_path, x, 16000) and cell.path.is_relative_to(tmp_path)
    info = sf.info(str(cell.path))
    assert (info.samplerate, info.subtype, info.frames) == (16000, "PCM_16", 8000)
    back, _ = sf.read(str(cell.path), dtype="float32")
    np.testing.assert_allclose(back, x, atol=1 / 32768 + 1e-7)
    inode = cell.path.stat().st_ino  # a rewrite replaces the file (a new inode); a reuse only marks it as used
    assert make_cell(x.copy(), 16000, tmp_path).path.stat().st_ino == inode
    assert make_cell(x, 22050, tmp_path).path != cell.path
    assert len(cell.peaks) == 1600 and cell.gain == 1.0


def test_loud_audio_is_scaled_into_the_file_and_the_gain_restores_it(tmp_path):
    x = np.array([0.0, 2.5, -1.0, 0.5] * 1000, dtype=np.float32)
    cell = make_cell(x, 8000, tmp_path, n_peaks=4)
    assert cell.gain == 2.5 and cell.peak == 2.5
    back, _ = sf.read(str(cell.path), dtype="float32")
    np.testing.assert_allclose(back * cell.gain, x, atol=2.5 / 32768 + 1e-6)
    assert max(cell.peaks) == 2.5  # peaks show the true level
    d = cell.to_dict(url="/file/x.wav")
    assert d["url"] == "/file/x.wav" and d["gain"] == 2.5
