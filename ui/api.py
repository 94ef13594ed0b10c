"""Named endpoints for scripts (`gradio_client`): `list_models`, `process_stems`, `mix_latents`.

They run on hidden components of the page, so Gradio uploads the caller's files and returns WAV files the
usual way. Output audio is 32-bit float WAV at the true level (a decode louder than full scale is not clipped).
Every problem with the input or the model comes back as an error whose message says what to do.
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import threading
import time
from pathlib import Path

import anyio.to_thread
import gradio as gr
import numpy as np
from gradio.utils import get_upload_folder
from scipy.io import wavfile

from lincae import metrics
from lincae.audio import wav_is_complete
from lincae.data.track import Track
from lincae.data.uploads import MIXTURE, AudioInputError, build_track
from lincae.engine.cache import TEMP_MARK, sweep_temporary
from lincae.limits import InputError, check_coefficients, check_number, check_seed
from lincae.registry import ModelUnavailable
from lincae.rows import REFERENCE_ROWS, ROW_IDS, STEMS, combine_signals, get_row
from lincae.settings import Settings
from lincae.table_metrics import METRICS, cached_table_metrics, table_metrics
from ui.compute_queue import Busy, ComputeQueue
from ui.tables import DEFAULT_SEED, TableBuilder

log = logging.getLogger(__name__)

API_CONCURRENCY = 64
"""API requests in their handlers at once, in their own group (scripts never take the page's slots). A handler
holds no thread while it waits for a compute slot, so this only bounds the requests the app keeps track of."""
API_COMPUTE_SLOTS = 2
"""Computations of each endpoint at once; the others wait their turn in arrival order. Cached answers take none.
Each endpoint has its own queue, so a mix (one decode) never waits behind whole tables of new audio; the
forward passes of both take turns on the engine's computing threads."""
API_MAX_WAITING = 32
"""Computations waiting at most, per endpoint; beyond it a request is answered at once that the server is busy,
to retry."""
ANSWER_SECONDS = 600
"""How long an answer's files stay after they were last handed out: a client fetches them at once, and under load
an hour of answers (Gradio's own cleanup age) would fill a small disk."""
ANSWER_BYTES = 1 << 30
"""Most bytes the answers may hold: new audio makes a folder of WAVs per call, so under sustained load the age
limit alone does not bound the disk."""
ANSWER_FETCH_SECONDS = 60  # an answer handed out this recently is kept whatever the bytes: its client fetches it
SWEEP_EVERY = 60  # seconds between two looks for old answers
OUTPUT_FOLDER = "lincae-api"
"""Inside Gradio's own file cache: files there are served as they are, not hashed and copied for each answer,
and Gradio's cleanup (`delete_cache`) removes them."""


def _error(message: str) -> gr.Error:
    return gr.Error(message, print_exception=False)


def _finite(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None


def _write(folder: Path, name: str, audio: np.ndarray, sample_rate: int) -> str:
    """A 32-bit float WAV, written once: its bytes depend on the audio only (no timestamp in the header), and
    the folder is content-addressed, so a repeated call finds it written already."""
    path = folder / f"{name}.wav"
    if wav_is_complete(path, len(audio)):
        try:
            os.utime(path)  # Gradio's cleanup ages files by their change time: this one was just handed out again
            return str(path)
        except FileNotFoundError:  # swept in between: written again below
            pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}{TEMP_MARK}.{threading.get_ident()}.{time.monotonic_ns()}.wav"
    wavfile.write(tmp, sample_rate, np.asarray(audio, dtype=np.float32))
    os.replace(tmp, path)
    return str(path)


def _content_dir(root: Path, *audio: np.ndarray) -> Path:
    """One folder per distinct answer, named by a hash of its audio: repeating a call reuses it instead of
    growing, and an answer that changed (new weights, say) never reuses an old folder."""
    digest = hashlib.blake2b(digest_size=16)
    for a in audio:
        a = np.ascontiguousarray(a, dtype=np.float32)
        digest.update(str(a.shape).encode())
        digest.update(a.data)
    return root / digest.hexdigest()


def sweep_answers(root: Path, older_than: float = ANSWER_SECONDS, max_bytes: int = ANSWER_BYTES,
                  fetch_seconds: float = ANSWER_FETCH_SECONDS) -> int:
    """Delete the answer folders under `root` none of whose files was handed out in the last `older_than` seconds
    (handing a file out again touches it), then, while the rest hold more than `max_bytes`, the least recently
    handed out, except those handed out in the last `fetch_seconds` (their client may be fetching them). Returns
    how many went."""
    now, folders = time.time(), []
    for folder in list(root.iterdir()) if root.is_dir() else []:
        try:
            stats = [f.stat() for f in folder.iterdir()]
        except OSError:  # swept meanwhile, or not a folder
            continue
        folders.append((max((s.st_mtime for s in stats), default=0.0), sum(s.st_size for s in stats), folder))
    total, swept = sum(size for _, size, _ in folders), 0
    for newest, size, folder in sorted(folders):  # least recently handed out first
        if newest < now - older_than or (total > max_bytes and newest < now - fetch_seconds):
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
            swept += 1
    return swept


def api_endpoints(builder: TableBuilder, settings: Settings) -> None:
    """Add the endpoints to the Blocks being built. Their components are hidden: they exist for the API."""
    out_root = Path(get_upload_folder()) / OUTPUT_FOLDER
    sweep_temporary(out_root)  # what a process killed mid-write left
    last_sweep = [time.monotonic()]
    sweep_lock = threading.Lock()

    def answer_folder(*audio: np.ndarray) -> Path:
        with sweep_lock:
            due = time.monotonic() - last_sweep[0] > SWEEP_EVERY
            if due:
                last_sweep[0] = time.monotonic()
        if due:
            sweep_answers(out_root)
        return _content_dir(out_root, *audio)
    queues = {name: ComputeQueue(API_COMPUTE_SLOTS, API_MAX_WAITING) for name in ("process_stems", "mix_latents")}

    async def computed(endpoint: str, answer, cached):
        """`answer()` on a thread: at once when `cached()` says nothing needs computing, else in the endpoint's
        queue of computations."""
        if await anyio.to_thread.run_sync(cached):
            return await anyio.to_thread.run_sync(answer)  # no slot: nothing to compute
        try:
            return await queues[endpoint].run(answer)
        except Busy as err:
            raise _error(str(err)) from None

    async def prepared(model, vocals, drums, bass, other, mixture, start, length):
        """The model's name and the uploaded track (read on a thread), its warnings shown."""
        name, upload = await anyio.to_thread.run_sync(
            lambda: (model_name(model), upload_track(vocals, drums, bass, other, mixture, start, length)))
        for w in upload.warnings:
            gr.Warning(w)
        return name, upload

    def checked(check, *args):
        try:
            return check(*args)
        except InputError as err:
            raise _error(str(err)) from None

    def upload_track(vocals, drums, bass, other, mixture, start, length):
        files = {"vocals": vocals, "drums": drums, "bass": bass, "other": other, MIXTURE: mixture}
        start = 0.0 if start is None else checked(check_number, start, "The start")
        length = None if length is None else checked(check_number, length, "The length")
        try:
            upload = build_track(files, start=start, length=length, limit=settings.max_seconds)
        except AudioInputError as err:
            raise _error(str(err)) from None
        return upload

    def model_name(name: str | None) -> str:
        infos = {m.name: m for m in builder.model_infos()}
        if not name or name not in infos:
            raise _error(f"Unknown model {name!r}. Models: {', '.join(infos)} (see list_models).")
        if not infos[name].available:
            raise _error(f"Model {name} cannot run here: {infos[name].reason}.")
        return name

    def run_model(fn, name: str, track: Track):
        try:
            return fn()
        except ModelUnavailable as err:
            raise _error(f"Model {name} cannot run here: {err.reason}.") from None
        except Exception as err:  # a broken model fails this request only; the app keeps serving
            log.exception("API: %s failed on %s", name, track.id)
            raise _error(f"Model {name} failed on this audio ({type(err).__name__}: {err}). Nothing else is "
                         "affected: try another model, or other audio.") from None

    def list_models() -> list[dict]:
        """Every model the app knows: name, display name, whether it is linear, embedded, available here, and
        if not, why."""
        return [
            {"name": m.name, "display_name": m.display_name, "linear": m.linear, "embedded": m.embedded,
             "available": m.available, "reason": m.reason, "description": m.description}
            for m in builder.model_infos()
        ]

    async def process_stems(vocals=None, drums=None, bass=None, other=None, mixture=None, model=None, start=0.0,
                            length=None, seed=DEFAULT_SEED):
        """All rows of the demo table for one model, from four stems (or a mixture and its vocals): one WAV
        per row, in the table's order, and a JSON summary with metrics."""
        seed = checked(check_seed, DEFAULT_SEED if seed is None else seed)
        name, upload = await prepared(model, vocals, drums, bass, other, mixture, start, length)
        track, engine = upload.track, builder.engine

        def answer():
            table = run_model(lambda: engine.track_table(track, name, seed=seed), name, track)
            scores = run_model(lambda: table_metrics(engine, track, name, seed), name, track)
            audio = {**{r: get_row(r).original_audio(track) for r in REFERENCE_ROWS}, **table}
            folder = answer_folder(*(audio[r] for r in ROW_IDS))
            paths = [_write(folder, r, audio[r], track.sample_rate) for r in ROW_IDS]
            summary = {
                "track": {"id": track.id, "title": track.title, "duration": track.duration,
                          "sample_rate": track.sample_rate, "mode": upload.mode},
                "model": name, "seed": seed, "rows": list(ROW_IDS), "warnings": list(upload.warnings),
                "nonfinite_rows": list(table.nonfinite),
                "metrics": {k: _finite(v) for k, v in scores.items()},
                "metrics_help": {m.key: m.good for m in METRICS},
            }
            return paths, summary

        def cached() -> bool:
            return (engine.cached_table(track, name, seed) is not None
                    and cached_table_metrics(engine, track, name, seed) is not None)

        return await computed("process_stems", answer, cached)

    async def mix_latents(vocals=None, drums=None, bass=None, other=None, mixture=None, model=None,
                          vocals_gain=1.0, drums_gain=1.0, bass_gain=1.0, other_gain=1.0, origin_correction=False,
                          start=0.0, length=None, seed=DEFAULT_SEED):
        """Dec(Σ gain_s · z_s) for one model, beside the same gains applied to the waveforms. With a mixture and
        its vocals, `other` is the accompaniment and drums and bass are silent."""
        gains = checked(check_coefficients, {"vocals": vocals_gain, "drums": drums_gain, "bass": bass_gain,
                                             "other": other_gain}, "gain")
        seed = checked(check_seed, DEFAULT_SEED if seed is None else seed)
        origin = bool(origin_correction)
        name, upload = await prepared(model, vocals, drums, bass, other, mixture, start, length)
        track, engine = upload.track, builder.engine

        def answer():
            decoded = run_model(lambda: engine.decode_combination(track, name, gains, seed=seed,
                                                                  origin_correction=origin), name, track)
            waveform = combine_signals(track, gains)
            folder = answer_folder(decoded, waveform)
            summary = {
                "track": {"id": track.id, "title": track.title, "duration": track.duration, "mode": upload.mode},
                "model": name, "seed": seed, "gains": gains, "origin_correction": origin,
                "warnings": list(upload.warnings),
                "spectral_snr_db": _finite(metrics.spectral_snr(waveform, decoded)) if np.any(waveform) else None,
                "metrics_help": {"spectral_snr_db": "the latent mix against the waveform mix, STFT magnitudes; "
                                 "higher is better (a linear model keeps it near its reconstruction SNR)"},
            }
            return (_write(folder, "latent_mix", decoded, track.sample_rate),
                    _write(folder, "waveform_mix", waveform, track.sample_rate), summary)

        def cached() -> bool:
            return engine.cached_combination(track, name, gains, seed=seed, origin_correction=origin) is not None

        return await computed("mix_latents", answer, cached)

    with gr.Column(visible=False):
        files = [gr.File(label=name, type="filepath") for name in (*STEMS, MIXTURE)]
        default_model = next((m.name for m in builder.model_infos() if m.available), "")
        model = gr.Textbox(default_model, label="model")
        start = gr.Number(0.0, label="start")
        length = gr.Number(None, label="length")
        seed = gr.Number(DEFAULT_SEED, label="seed")  # checked by the handler: a clear message for any value
        gains = [gr.Number(1.0, label=f"{s}_gain") for s in STEMS]
        origin = gr.Checkbox(False, label="origin_correction")
        models_out = gr.JSON(label="models")
        rows_out = gr.File(label="rows", file_count="multiple")
        summary_out = gr.JSON(label="summary")
        latent_out = gr.File(label="latent_mix")
        waveform_out = gr.File(label="waveform_mix")
        buttons = [gr.Button(visible=False) for _ in range(3)]

    compute = dict(concurrency_limit=API_CONCURRENCY, concurrency_id="api")
    buttons[0].click(list_models, None, models_out, api_name="list_models", concurrency_limit=None, queue=False)
    buttons[1].click(process_stems, [*files, model, start, length, seed], [rows_out, summary_out],
                     api_name="process_stems", **compute)
    buttons[2].click(mix_latents, [*files, model, *gains, origin, start, length, seed],
                     [latent_out, waveform_out, summary_out], api_name="mix_latents", **compute)
