"""Bad input, each case three ways: the library's message, the page's handler (the upload note), and the API through
gradio_client. Afterwards the app still serves, and problems that leave a usable track come back as warnings."""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from lincae.data.uploads import AudioInputError, build_track
from lincae.rows import STEMS
from lincae.settings import Settings
from upload_files import SR, served_app, stem_files, tone, write


def corrupt(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    files["vocals"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 8)
    return files


def unsupported(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    files["drums"] = tmp / "drums.txt"
    files["drums"].write_text("not audio at all\n" * 100)
    return files


def empty_file(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    files["bass"].write_bytes(b"")
    return files


def no_samples(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    write(files["bass"], np.zeros((0, 1), np.float32), SR)
    return files


def silent(tmp: Path) -> dict[str, Path]:
    return {s: write(tmp / f"{s}.wav", np.zeros((SR, 2), np.float32), SR) for s in STEMS}


def too_long(tmp: Path) -> dict[str, Path]:
    return stem_files(tmp, seconds=3.0)  # the tests set the limit to 2 s


def nan_samples(tmp: Path) -> dict[str, Path]:
    files = stem_files(tmp)
    audio = tone(440.0)
    audio[100:103] = [[np.nan], [np.inf], [-np.inf]]
    write(files["other"], audio, SR, subtype="FLOAT")
    return files


def missing_stems(tmp: Path) -> dict[str, Path]:
    return stem_files(tmp, names=("vocals", "other"))


def mixture_without_vocals(tmp: Path) -> dict[str, Path]:
    return stem_files(tmp, names=("mixture",))


def start_after_the_end(tmp: Path) -> dict[str, Path]:
    return stem_files(tmp)  # the tests ask for a segment from 5 s


CASES: dict[str, tuple[Callable[[Path], dict[str, Path]], str]] = {
    "corrupt": (corrupt, r"vocals \(vocals.wav\): this is not an audio file this app can decode"),
    "unsupported": (unsupported, r"drums \(drums.txt\): this is not an audio file.*Supported formats: WAV, FLAC"),
    "empty file": (empty_file, r"bass \(bass.wav\) is an empty file \(0 bytes\)"),
    "no samples": (no_samples, r"bass \(bass.wav\) is empty: it holds no audio samples"),
    "silent": (silent, r"The audio is silent: there is nothing to compare"),
    "too long": (too_long, r"vocals \(vocals.wav\) is 3.0 s long; the limit is 2 s\. Choose a segment of at most 2 s"),
    "NaN and inf": (nan_samples, r"other \(other.wav\) contains 3 NaN or infinite sample\(s\)"),
    "missing stems": (missing_stems, r"Missing stems: drums, bass\. Upload all four stems"),
    "mixture without vocals": (mixture_without_vocals, r"A mixture needs its vocals"),
    "start after the end": (start_after_the_end, r"vocals \(vocals.wav\) is 1.00 s long: a segment cannot start at 5 s"),
}
START = {"start after the end": 5.0}
LIMIT_2S = Settings(max_seconds=2.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with served_app(tmp_path_factory.mktemp("app"), settings=LIMIT_2S) as (url, builder):
        yield Client(url, verbose=False), builder


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, Path]:
    return stem_files(tmp_path_factory.mktemp("good"), seconds=0.5)


def api_files(paths: dict[str, Path]) -> dict:
    return {k: handle_file(str(p)) for k, p in paths.items()}


@pytest.mark.parametrize("case", CASES)
def test_library_says_what_is_wrong(case, tmp_path):
    make, message = CASES[case]
    with pytest.raises(AudioInputError, match=message):
        build_track(make(tmp_path), start=START.get(case, 0.0), limit=LIMIT_2S.max_seconds)


@pytest.mark.parametrize("case", CASES)
def test_api_says_what_is_wrong_and_keeps_serving(case, app, good, tmp_path):
    client, _ = app
    make, message = CASES[case]
    with pytest.raises(AppError, match=message):
        client.predict(**api_files(make(tmp_path)), start=START.get(case, 0.0), model="linear",
                       api_name="/process_stems")
    paths, summary = client.predict(**api_files(good), model="linear", api_name="/process_stems")
    assert len(paths) == 9 and summary["warnings"] == []


@pytest.mark.parametrize("case", CASES)
def test_page_handler_tells_the_message_in_the_upload_note(case, page, tmp_path):
    """The upload button's handler, called as the page calls it: the error replaces the panel's note."""
    handler, _ = page
    make, message = CASES[case]
    files = make(tmp_path)
    mode = "mixture+vocals" if "mixture" in files else "stems"
    add_upload = handler("add_upload")
    args = [files.get(k) for k in ("vocals", "drums", "bass", "other", "mixture")]
    *_, (selector, session, note, title) = add_upload(mode, *args, START.get(case, 0.0), None, "", {})
    assert note.startswith("✖") and re.search(message, html.unescape(note))
    assert not isinstance(selector, gr.Dropdown)  # the track list is left as it was


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page built (not served) with fake models: its handlers are called as the browser would call them."""
    from test_app import make_track
    from ui.layout import build_demo
    from ui.tables import TableBuilder
    from upload_files import BASE_TRACKS, MODELS, fake_engine

    tmp = tmp_path_factory.mktemp("page")
    builder = TableBuilder(fake_engine(tmp / "cache"), MODELS, {"t1": make_track("t1")}.__getitem__,
                           cells_dir=tmp / "cells")
    demo = build_demo(builder, BASE_TRACKS, LIMIT_2S)

    def handler(name: str):
        [fn] = {d.fn for d in demo.fns.values() if d.name == name}  # one function, maybe several triggers
        return fn

    return handler, builder


def test_usable_problems_are_warnings_not_errors(app, tmp_path):
    """Different lengths are padded with silence, different rates resampled, a silent stem allowed: the track is
    built and the user told."""
    client, _ = app
    files = {
        "vocals": write(tmp_path / "vocals.wav", tone(440.0, 1.0, 48000, 2), 48000),
        "drums": write(tmp_path / "drums.flac", tone(97.0, 0.6, 22050), 22050),
        "bass": write(tmp_path / "bass.wav", np.zeros((SR, 1), np.float32), SR),
        "other": write(tmp_path / "other.ogg", tone(660.0, 1.0, 32000), 32000),
    }
    upload = build_track(files)
    assert upload.track.num_samples == pytest.approx(SR, abs=2) and upload.track.sample_rate == SR
    assert not upload.track.stems["drums"][int(0.62 * SR):].any()  # padded with silence
    paths, summary = client.predict(**api_files(files), model="linear", api_name="/process_stems")
    assert len(paths) == 9
    warnings = " ".join(summary["warnings"])
    assert "differ in length (drums (drums.flac) 0.60 s; longest 1.00 s)" in warnings
    assert "padded with silence" in warnings and "bass (bass.wav) is silent" in warnings


def test_a_model_failing_mid_way_is_an_error_for_that_request_only(app, good):
    client, _ = app
    with pytest.raises(AppError, match=r"Model broken failed on this audio \(RuntimeError: decoder exploded\)"):
        client.predict(**api_files(good), model="broken", api_name="/process_stems")
    with pytest.raises(AppError, match=r"Model broken failed"):
        client.predict(**api_files(good), model="broken", api_name="/mix_latents")
    paths, _ = client.predict(**api_files(good), model="noisy", api_name="/process_stems")
    assert len(paths) == 9


def test_an_engine_that_runs_out_of_memory_is_reported(app, good, monkeypatch):
    client, builder = app

    def out_of_memory(*args, **kwargs):
        raise MemoryError("cannot allocate 12 GB")

    monkeypatch.setattr(builder.engine, "track_table", out_of_memory)
    with pytest.raises(AppError, match=r"Model linear failed on this audio \(MemoryError: cannot allocate 12 GB\)"):
        client.predict(**api_files(good), model="linear", api_name="/process_stems")
    monkeypatch.undo()
    assert client.predict(api_name="/list_models")[0]["name"] == "linear"


@pytest.mark.parametrize("model,message", [
    ("nope", r"Unknown model 'nope'\. Models: linear, noisy, broken, gated"),
    ("gated", r"Model gated cannot run here: needs an HF token"),
])
def test_unknown_and_unavailable_models_say_which_exist_and_why(app, good, model, message):
    client, _ = app
    with pytest.raises(AppError, match=message):
        client.predict(**api_files(good), model=model, api_name="/process_stems")


def test_gains_must_be_numbers(app, good):
    client, _ = app  # (JSON cannot carry NaN or inf: a missing number is what a client can send)
    with pytest.raises(AppError, match=r"The bass gain must be a number, got None"):
        client.predict(**api_files(good), model="linear", bass_gain=None, api_name="/mix_latents")


def test_a_failing_model_in_the_table_of_an_upload_is_an_na_column(page, good):
    """On the page, the upload's table still appears: the broken model's column says why it is missing."""
    import json

    handler, builder = page
    *_, (dropdown, session, note, _) = handler("add_upload")("stems", *(good[s] for s in STEMS), None, 0.0, None,
                                                             "", {})
    [track_id] = session
    assert "Added" in note and isinstance(dropdown, gr.Dropdown)
    value = json.loads(list(builder.updates(track_id))[-1].value)
    broken = next(m for m in value["models"] if m["name"] == "broken")
    assert not broken["available"] and "decoder exploded" in broken["reason"]
    assert set(value["cells"]["ae_mix"]) == {"linear", "noisy"}
