"""Values out of range or of the wrong type, absurdly loud and truncated files: a message that says what to do,
through the library, the page's handlers and the API — before anything is computed or written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from lincae.data.uploads import AudioInputError, build_track
from lincae.engine import Engine
from lincae.engine.entries import NonFiniteAudio
from lincae.limits import COEFFICIENT_LIMIT, SEED_MAX, InputError, check_seed
from lincae.rows import STEMS
from test_app import make_track
from test_bad_input import api_files, app, good, page  # noqa: F401 - fixtures shared with the other bad-input tests
from ui.mixer import coefficients
from upload_files import SR, stem_files, tone, write
from engine_fakes import IdentityAE, NaNAE

SEED_MESSAGE = rf"The seed must be a whole number from 0 to {SEED_MAX}"


def engine(tmp_path: Path, model=None) -> Engine:
    return Engine(device="cpu", cache_dir=tmp_path / "cache", loader=lambda name, device: model or IdentityAE(name))


def loud(tmp: Path, amplitude: float) -> dict[str, Path]:
    files = stem_files(tmp)
    write(files["other"], tone(660.0, amplitude=amplitude), SR, subtype="FLOAT")
    return files


def truncated(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    data = files["vocals"].read_bytes()
    files["vocals"].write_bytes(data[: len(data) // 2])
    return files


# --- the library -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [2**70, -1, 1.5, "seven", None, float("nan")])
def test_seeds_outside_the_range_are_refused_with_the_range(seed):
    with pytest.raises(InputError, match=SEED_MESSAGE if seed in (2**70, -1, 1.5) else "The seed must be"):
        check_seed(seed)
    assert check_seed(SEED_MAX) == SEED_MAX and check_seed(7.0) == 7


def test_the_engine_refuses_a_bad_seed_before_computing(tmp_path):
    e = engine(tmp_path)
    with pytest.raises(InputError, match=SEED_MESSAGE):
        e.track_table(make_track(), "m", seed=2**70)
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing computed, nothing written


@pytest.mark.parametrize("coeff", [1e6, 1e308, -11.0, float("inf")])
def test_latent_coefficients_are_bounded(tmp_path, coeff):
    with pytest.raises(InputError, match="must stay within|finite"):
        engine(tmp_path).decode_combination(make_track(), "m", {"vocals": coeff})


def test_a_decode_to_nan_is_an_error_not_silence(tmp_path):
    with pytest.raises(NonFiniteAudio, match="NaN/inf"):
        engine(tmp_path, NaNAE("nan")).decode_combination(make_track(), "nan", {"vocals": 10.0})


@pytest.mark.parametrize("scale", [1e6, 1e308, float("nan"), "x"])
def test_mixer_scale_is_bounded_by_the_same_limit(scale):
    with pytest.raises(InputError, match="coefficient|scale"):
        coefficients(dict.fromkeys(STEMS, 1.0), scale)
    assert coefficients(dict.fromkeys(STEMS, 2.0), COEFFICIENT_LIMIT / 2)["vocals"] == COEFFICIENT_LIMIT


def test_absurdly_loud_audio_is_refused_and_loud_audio_warned(tmp_path):
    with pytest.raises(AudioInputError, match=r"far too loud \(other \(other.wav\) peaks at 1e\+30"):
        build_track(loud(tmp_path / "a", 1e30))
    upload = build_track(loud(tmp_path / "b", 2.0))
    assert any("peaks at 2, above full scale" in w for w in upload.warnings)


def test_a_truncated_file_is_used_with_a_warning(tmp_path):
    upload = build_track(truncated(tmp_path))
    assert any("vocals (vocals.wav) seems truncated" in w for w in upload.warnings)


@pytest.mark.parametrize("length", [0, -5])
def test_length_zero_and_negative_get_the_same_message(tmp_path, length):
    with pytest.raises(AudioInputError, match="length must be a positive number of seconds.*empty for 'to the end'"):
        build_track(stem_files(tmp_path), length=length)


# --- the page's handlers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e6, 1e308])
def test_the_mixer_says_to_lower_the_scale(page, scale):  # noqa: F811
    handler, _ = page
    run = handler("run")
    updates = list(run("t1", *[1.0] * len(STEMS), scale, False))
    assert len(updates) == 1
    assert "must stay within ±10" in updates[0][1] or "finite" in updates[0][1]


def test_the_upload_handler_refuses_loud_files_and_length_zero(page, tmp_path):  # noqa: F811
    handler, _ = page
    add_upload = handler("add_upload")

    def note(files, length):
        *_, last = add_upload("stems", *[files[s] for s in STEMS], None, 0.0, length, "", {})
        return str(last[2])

    assert "far too loud" in note(loud(tmp_path / "loud", 1e30), None)
    assert "length must be a positive number" in note(stem_files(tmp_path / "ok"), 0)


# --- the API ---------------------------------------------------------------------------------------------


def test_api_refuses_a_huge_seed_before_writing_anything(app, good):  # noqa: F811
    client, builder = app
    before = sorted(p for p in Path(builder.cells_dir).rglob("*") if p.is_file())
    with pytest.raises(AppError, match=SEED_MESSAGE):
        client.predict(**api_files(good), model="linear", seed=2**70, api_name="/process_stems")
    assert sorted(p for p in Path(builder.cells_dir).rglob("*") if p.is_file()) == before


@pytest.mark.parametrize(("gain", "message"), [(1e308, "must stay within ±10"), ("loud", "must be a number"),
                                               (-1e6, "must stay within ±10")])
def test_api_refuses_gains_beyond_the_limit_or_not_numbers(app, good, gain, message):  # noqa: F811
    client, _ = app
    with pytest.raises(AppError, match=message):
        client.predict(**api_files(good), model="linear", vocals_gain=gain, api_name="/mix_latents")


@pytest.mark.parametrize(("params", "message"), [({"start": "soon"}, "The start must be a number"),
                                                 ({"length": 0}, "length must be a positive number"),
                                                 ({"length": -5}, "length must be a positive number"),
                                                 ({"seed": "abc"}, "The seed must be a number")])
def test_api_wrong_values_get_a_message_not_an_empty_error(app, good, params, message):  # noqa: F811
    client, _ = app
    with pytest.raises(AppError, match=message):
        client.predict(**api_files(good), model="linear", **params, api_name="/process_stems")


def test_api_loud_and_truncated_files(app, tmp_path):  # noqa: F811
    client, _ = app
    with pytest.raises(AppError, match="far too loud"):
        client.predict(**api_files(loud(tmp_path / "loud", 1e30)), model="linear", api_name="/process_stems")
    _, summary = client.predict(**api_files(truncated(tmp_path / "cut")), model="linear", api_name="/process_stems")
    assert any("seems truncated" in w for w in summary["warnings"])


def test_identical_api_calls_write_identical_files_once(app, good):  # noqa: F811
    client, _ = app
    first, _ = client.predict(**api_files(good), model="linear", api_name="/process_stems")
    second, _ = client.predict(**api_files(good), model="linear", api_name="/process_stems")
    assert first == second  # the same files in Gradio's cache: their bytes are the same, so is their hash
    assert all(np.isfinite(np.frombuffer(Path(p).read_bytes()[-400:], dtype=np.float32)).all() for p in first)
