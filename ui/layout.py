"""The page: track selector, the player, the model list; and how the app is launched."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import gradio as gr

from lincae.data.library import TrackInfo
from lincae.models.base import ModelInfo
from lincae.settings import Settings
from ui import deeplink
from ui.analysis import analysis_panel
from ui.api import api_endpoints
from ui.mixer import mixer_panel
from ui.player import player
from ui.sources import sources_panel
from ui.tables import TableBuilder

TITLE = "Linear audio autoencoders — live demo"
INTRO = """\
# Linear audio autoencoders — live demo
Listen to what a *linear* latent space does. Each row is an operation on latents, each column a model; the
reference rows play the original audio. Models trained for linearity (**ours**: Lin-CAE and the embedded
Lin-AE) should turn latent addition into mixing, latent subtraction into separation and latent scaling into
gain. Paper: [Learning Linearity in Audio Consistency Autoencoders via Implicit Regularization](https://arxiv.org/abs/2510.23530).
Every cell of a track is decoded with the same noise seed, so differences come from the models.
"""
TABLE_CONCURRENCY = 2
"""Tables computed at once. The engine serialises work per model, so a second user's table (another
model, or a cached one) is not stuck behind the first; playback itself never waits on the server."""
QUEUE_SIZE = 64
MAX_UPLOAD_SIZE = "200mb"  # refused before it is written to disk; 30 s of stems is far smaller


def models_markdown(models: Sequence[ModelInfo]) -> str:
    """What each model is, who trained it, where its weights come from, and whether it runs here."""
    lines = ["| Model | Linear | What it is | Weights | Here |", "|---|---|---|---|---|"]
    for m in models:
        here = "✅ playable" if m.available else f"N/A: {m.reason}"
        lines.append(
            f"| **{m.display_name}** (`{m.name}`) | {'yes' if m.linear else 'no'} | {m.description} "
            f"| {m.source} | {here} |"
        )
    return "\n".join(lines)


def tracks_note(tracks: Sequence[TrackInfo]) -> str:
    return "\n".join(f"- **{t.title}** — {t.source}; licence: {t.licence}" for t in tracks)


def build_demo(builder: TableBuilder, tracks: Sequence[TrackInfo], settings: Settings = Settings()) -> gr.Blocks:
    """The Blocks app; computation goes through `builder`, which wraps the engine."""
    choices = [(t.title, t.id) for t in tracks]

    def show_track(track_id: str | None, request: gr.Request, progress=gr.Progress()) -> Iterator[tuple[str, str]]:
        if not track_id:
            yield None, "No track selected."
            return
        for update in builder.updates(track_id, progress):
            yield deeplink.selected(update.value, track_id, request), update.status

    def open_page(track_id: str | None, request: gr.Request, progress=gr.Progress()):
        """A deep link switches the selector to its track (whose change event shows it); else show this one."""
        if deeplink.redirected(track_id, request, [c[1] for c in choices]):
            yield deeplink.linked_track(request, [c[1] for c in choices]), gr.skip(), gr.skip()
            return
        for value, line in show_track(track_id, request, progress):
            yield gr.skip(), value, line

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        track = gr.Dropdown(choices=choices, value=choices[0][1] if choices else None, label="Track")
        status = gr.Markdown("Loading…", elem_id="lincae-status", container=True, padding=True, min_height=64)
        sources_panel(builder, track, tracks, settings)
        table = player()
        with gr.Tab("Latent mixer"):
            mixer_panel(builder, track, demo)
        with gr.Tab("Analysis") as analysis_tab:
            analysis_panel(builder, track, analysis_tab)
        with gr.Accordion("Models", open=False):
            models_md = gr.Markdown(models_markdown(builder.model_infos()))
            gr.Markdown(f"Computing on: {builder.engine.describe()}.")
        with gr.Accordion("Tracks", open=False):
            gr.Markdown(tracks_note(tracks))

        event = dict(fn=show_track, inputs=track, outputs=[table, status], show_progress_on=status,
                     concurrency_limit=TABLE_CONCURRENCY, concurrency_id="tables", api_visibility="private")
        demo.load(**{**event, "fn": open_page, "outputs": [track, table, status]}).then(
            lambda: models_markdown(builder.model_infos()), outputs=models_md, api_visibility="private")
        track.change(trigger_mode="always_last", **event).then(
            lambda: models_markdown(builder.model_infos()), outputs=models_md, api_visibility="private"
        )
        api_endpoints(builder, settings)
    demo.queue(max_size=QUEUE_SIZE)
    return demo


def launch_kwargs(cells_dir: str | Path) -> dict:
    """`launch()` arguments: theme and files the player fetches. Host and port come from Gradio's own
    `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` (as on Hugging Face Spaces), so none are set here."""
    return {
        "theme": gr.themes.Default(primary_hue="blue"),
        "allowed_paths": [str(cells_dir)],
        "max_file_size": MAX_UPLOAD_SIZE,
    }
