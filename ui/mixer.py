"""The latent mixer: per-stem gains applied to latents and decoded, beside the same gains applied to waveforms.

A linear autoencoder turns Dec(Σ g_s · z_s) into the mix Σ g_s · x_s for any gains, negative ones included;
the mixer lets you hear (and measure) where each model stops doing so. It plays through a second instance of
the comparison player: one reference row (the waveform mix) and one row of latent mixes, a column per model.
Decodes go through `Engine.decode_combination`, so each gain setting is computed once per model and cached.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import gradio as gr
import numpy as np
from gradio.events import Dependency

from lincae import metrics
from lincae.data.track import Track
from lincae.engine.cells import Cell, make_cell
from lincae.limits import InputError, check_coefficients, check_number
from lincae.registry import ModelUnavailable
from lincae.rows import STEMS, Row
from ui import deeplink
from ui.player import player, player_value
from ui.tables import TableBuilder

log = logging.getLogger(__name__)

GAIN_RANGE = (-1.0, 2.0)
ORIGIN_NOTE = ("Origin correction: an encoder need not map silence to zero, so when the gains do not sum to 1 the "
               "latent origin moves; adding Enc(silence) · (1 − Σ coefficients) puts it back.")
SCALE_NOTE = "Multiplies every gain: any scaling of any stem (e.g. one stem at 1, the others at 0, scale 5)."


def coefficients(gains: Mapping[str, float], scale: float = 1.0) -> dict[str, float]:
    """The latent (and waveform) coefficient of each stem: its gain times the common scale. `InputError` when
    one is not a finite number within ±`lincae.limits.COEFFICIENT_LIMIT`."""
    unknown = sorted(set(gains) - set(STEMS))
    if unknown:
        raise KeyError(f"unknown stems {unknown}; choose from {', '.join(STEMS)}")
    scale = check_number(scale, "The scale")
    values = {s: check_number(gains.get(s, 0.0), f"The {s} gain") for s in STEMS}
    return check_coefficients({s: scale * g for s, g in values.items()}, "coefficient (gain × scale)")


def _term(c: float, s: str, var: str) -> str:
    return f"{c:g}·{var}_{s}"


def mix_rows(coeffs: Mapping[str, float], origin_correction: bool) -> tuple[Row, Row]:
    """The mixer player's two rows, their formulas showing the actual coefficients: the waveform mix Σ c·x (what a
    linear model's latent mix should sound like) and the latent mix."""
    used = {s: c for s, c in coeffs.items() if c != 0}
    wave = " + ".join(_term(c, s, "x") for s, c in used.items()) or "0"
    latent = " + ".join(_term(c, s, "z") for s, c in used.items()) or "0"
    if origin_correction:
        latent += f" + {1 - sum(coeffs.values()):g}·Enc(silence)"
    return (Row("gt_mix", "Waveform mix", wave.replace("+ -", "− "), latent=None, original=coeffs),
            Row("latent_mix", "Latent mix", f"Dec({latent})".replace("+ -", "− "), latent=coeffs, original=coeffs))


SILENT_PEAK = 1e-6
"""A waveform mix below this peak (every coefficient 0, or silent stems) is silence: no SNR is defined."""
REMIX_ON_KEYS = """() => {
  // Gradio's slider asks for a mix on pointer release only: a gain typed (then Enter) or moved with the keys
  // must remix too, so that what plays is what the sliders show. Both end as the slider's own "release".
  const slider = (e) => e.target.closest && e.target.closest('[id^="lincae-mix-"]');
  const keys = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End"]);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && slider(e) && e.target.type === "number") e.target.blur();
  }, true);
  document.addEventListener("keyup", (e) => {
    if (keys.has(e.key) && slider(e) && e.target.type === "range") {
      e.target.dispatchEvent(new PointerEvent("pointerup", { bubbles: true }));
    }
  }, true);
}"""


@dataclass(frozen=True)
class MixScore:
    """How close a model's latent mix is to the waveform mix, beside how close the model gets to the song when
    it simply encodes and decodes it (its reconstruction: no model here is perfect)."""

    snr_db: float | None  # None: the waveform mix is silent
    level_dbfs: float  # RMS level of the latent mix
    reconstruction_db: float | None  # spectral SNR of Dec(Enc(mix)) vs the mix; None until its table is computed


@dataclass(frozen=True)
class MixUpdate:
    """One step of a mix: the mixer player's value, a status line, and per-model distances so far."""

    value: str
    status: str
    scores: str
    done: bool


class Mixer:
    """Computes latent mixes for every model the table builder knows, with its engine, seed and cell folder."""

    def __init__(self, builder: TableBuilder) -> None:
        self.builder = builder

    def updates(self, track_id: str, gains: Mapping[str, float], scale: float = 1.0,
                origin_correction: bool = False) -> Iterator[MixUpdate]:
        """The waveform mix first, then one model's latent mix at a time."""
        b = self.builder
        track = b.load_track(track_id)
        coeffs = coefficients(gains, scale)
        rows = mix_rows(coeffs, origin_correction)
        target = rows[0].original_audio(track)
        reference = {"gt_mix": make_cell(target, track.sample_rate, b.cells_dir)}
        cells: dict[str, Cell] = {}
        scores: dict[str, MixScore] = {}
        silent = float(np.max(np.abs(target), initial=0.0)) < SILENT_PEAK
        failures: dict[str, str] = {}
        todo = [m for m in b.model_infos() if m.available]

        def update(status: str, done: bool = False) -> MixUpdate:
            models = [dataclasses.replace(m, available=False, reason=failures[m.name]) if m.name in failures else m
                      for m in b.model_infos()]
            value = player_value(track_id=track.id, title=track.title, duration=track.duration, models=models,
                                 cells={"latent_mix": cells}, reference=reference, sample_rate=track.sample_rate,
                                 rows=rows)
            return MixUpdate(value, status, scores_markdown(scores, {m.name: m.display_name for m in models}), done)

        for i, model in enumerate(todo):
            yield update(f"Mixing in the latents of {model.display_name} ({i + 1}/{len(todo)})…")
            try:
                audio = b.engine.decode_combination(track, model.name, coeffs, seed=b.seed,
                                                    origin_correction=origin_correction)
            except ModelUnavailable as err:
                failures[model.name] = err.reason
            except Exception as err:  # one broken model must not take the mixer down
                log.exception("%s failed to mix %s", model.name, track.id)
                failures[model.name] = f"failed on this mix ({type(err).__name__}: {err})"
            else:
                cells[model.name] = make_cell(audio, track.sample_rate, b.cells_dir)
                scores[model.name] = MixScore(None if silent else metrics.spectral_snr(target, audio),
                                              _rms_dbfs(audio), self._reconstruction(track, model.name))
        status = f"Mixed: {len(cells)} model(s)." if todo else "No model can run here: the model list says why."
        if failures:
            status += " Not mixed: " + "; ".join(f"{n} ({why})" for n, why in failures.items())
        yield update(status, done=True)


    def _reconstruction(self, track: Track, model: str) -> float | None:
        """The model's own reconstruction of the song, from its table if that is computed (never computes it)."""
        table = self.builder.engine.cached_table(track, model, seed=self.builder.seed)
        return None if table is None else metrics.spectral_snr(track.mix, table["ae_mix"])


def _rms_dbfs(x: np.ndarray) -> float:
    return 10 * math.log10(max(float(np.mean(np.square(x, dtype=np.float64))), 1e-20))


SCORES_GOOD = (
    "Good: the latent mix about as close to the waveform mix as the model's reconstruction of the song (last "
    "column) — its latent sums then mix like audio. No model here reconstructs perfectly, so compare the two "
    "columns, not a fixed number: a linear model keeps them close, a baseline falls far below."
)
SILENT_GOOD = ("The waveform mix is silence (every coefficient 0): a linear model decodes silence too, so a low "
               "level is good.")


def scores_markdown(scores: Mapping[str, MixScore], labels: Mapping[str, str]) -> str:
    """How close each latent mix is to the waveform mix, and the model's reconstruction for comparison."""
    if not scores:
        return ""
    silent = all(s.snr_db is None for s in scores.values())
    lines = ["| Model | latent mix vs waveform mix, spectral SNR (dB) ↑ | level of the latent mix (dBFS) "
             "| the model's reconstruction of the song, spectral SNR (dB) |", "|---|---|---|---|"]
    for name, s in scores.items():
        snr = "silent target" if s.snr_db is None else f"{s.snr_db:.1f}"
        recon = "not computed yet" if s.reconstruction_db is None else f"{s.reconstruction_db:.1f}"
        level = "silent" if s.level_dbfs <= -120 else f"{s.level_dbfs:.1f}"
        lines.append(f"| {labels.get(name, name)} | {snr} | {level} | {recon} |")
    lines.append("\n" + (SILENT_GOOD if silent else SCORES_GOOD))
    return "\n".join(lines)


def mixer_panel(builder: TableBuilder, track: gr.Dropdown, demo: gr.Blocks, page_loaded: Dependency) -> None:
    """The mixer's controls, player and scores (call inside a Blocks context, e.g. in a tab); it follows `track`.
    Its first mix is made once `page_loaded` (the page's table) is done: the default gains are a row of that
    table (Latent Addition), served from it instead of competing with it for the processor."""
    mixer = Mixer(builder)
    gr.Markdown("Set a gain per stem. Each model decodes **Σ gain · z_stem** (latents combined, then decoded); the "
                "first row plays the same gains applied to the waveforms. A linear model makes the two sound alike, "
                "for negative gains too.")
    with gr.Row():
        sliders = [gr.Slider(*GAIN_RANGE, value=1.0, step=0.05, label=f"{s} gain", elem_id=f"lincae-mix-{s}",
                             min_width=140) for s in STEMS]
    with gr.Row():
        scale = gr.Number(value=1.0, label="Scale all gains by", info=SCALE_NOTE, elem_id="lincae-mix-scale")
        origin = gr.Checkbox(value=False, label="Origin correction", info=ORIGIN_NOTE, elem_id="lincae-mix-origin")
    with gr.Row():
        mix_button = gr.Button("Mix", variant="primary", elem_id="lincae-mix-button", scale=0, min_width=160)
        reset = gr.Button("Reset gains", elem_id="lincae-mix-reset", scale=0, min_width=160)
    status = gr.Markdown("", elem_id="lincae-mix-status")
    mix_player = player(name="mixer", links=False, elem_id="lincae-mixer")
    scores = gr.Markdown("", elem_id="lincae-mix-scores")

    def run(track_id: str | None, *values) -> Iterator[tuple[str | None, str, str]]:
        *gains, factor, corrected = values
        if not track_id:
            yield None, "No track selected.", ""
            return
        factor = 1.0 if factor is None else factor
        try:
            coefficients(dict(zip(STEMS, gains)), factor)
        except InputError as err:
            yield gr.skip(), str(err), gr.skip()
            return
        for u in mixer.updates(track_id, dict(zip(STEMS, gains)), factor, bool(corrected)):
            yield u.value, u.status, u.scores

    track_ids = [value for _, value in track.choices]

    def run_on_load(request: gr.Request, track_id: str | None, *values) -> Iterator[tuple[str | None, str, str]]:
        if deeplink.redirected(track_id, request, track_ids):
            return  # the page switches to the linked track; its change event mixes that one
        yield from run(track_id, *values)

    event = dict(inputs=[track, *sliders, scale, origin], outputs=[mix_player, status, scores],
                 show_progress_on=status, trigger_mode="always_last", concurrency_limit=2, concurrency_id="mixer",
                 api_visibility="private")
    # One listener for every control: with "always_last", a session's mixes run one after the other, so a slow
    # mix can never land after (and hide) the one asked for last.
    triggers = [*(s.release for s in sliders), scale.submit, origin.input, mix_button.click, track.change]
    gr.on(triggers, run, **event)
    page_loaded.then(run_on_load, **event)
    demo.load(None, js=REMIX_ON_KEYS)
    reset.click(lambda: [1.0] * len(STEMS) + [1.0, False], outputs=[*sliders, scale, origin],
                api_visibility="private").then(run, **event)
