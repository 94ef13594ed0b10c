"""The page: track selector, the player, the model list; and how the app is launched."""
from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from pathlib import Path

import anyio
import anyio.to_thread
import gradio as gr

from lincae.data.library import TrackInfo
from lincae.data.uploads import HOW_TO_RAISE
from lincae.listening.store import ListeningStore, db_path
from lincae.models.base import ModelInfo
from lincae.settings import Settings
from ui import deeplink
from ui.analysis import analysis_panel, prepare_figures
from ui.api import API_CONCURRENCY, api_endpoints
from ui.first_table import FirstTable
from ui.listening import TAB_ID, listening_panel
from ui.mixer import mixer_panel
from ui.player import player, prefetch_head
from ui.sources import sources_panel
from ui.tables import TableBuilder

TITLE = "Linear audio autoencoders — live demo"
PAPER = "https://arxiv.org/abs/2510.23530"
INTRO = f"""\
<h1>{TITLE}</h1>
<p>Hear what a <em>linear</em> latent space does: rows are operations on latents (adding mixes, subtracting
separates, scaling sets the gain), columns are models. Paper: <a href="{PAPER}" target="_blank"
rel="noopener">Learning Linearity in Audio Consistency Autoencoders</a>. Its models play where their weights can be
downloaded; the embedded ones were <strong>trained here with the paper's recipe</strong> and without it: small
stand-ins, not the paper's sound.</p>
"""
PAGE_CSS = Path(__file__).with_name("page.css")
TABLE_CONCURRENCY = 16
"""Table requests handled at once. A cached table is served at once; computations beyond the builder's
`COMPUTE_SLOTS` wait inside the handler, in arrival order, so a cached table never queues behind them."""
QUEUE_SIZE = 128
"""Requests waiting at most; beyond it a visitor is told the app is busy and to try again."""
GRADIO_CACHE_CLEANUP = (600, 3600)
"""Every 10 minutes, Gradio deletes the uploads and returned files of its own cache older than an hour."""
PROCESSING_AT_ONCE = 40 + API_CONCURRENCY
"""Gradio's `max_threads`: events processed at once over every group (Gradio's default 40), plus the API's group,
whose handlers wait for a compute slot without a thread. Waiting API calls then never keep a page's request from
starting."""
MAX_UPLOAD_SIZE = "200mb"  # refused before it is written to disk; 30 s of stems is far smaller


OWNERS_NOTE = (
    "**Running your own copy?** A model that is not playable says above what it needs (weights to download or "
    "point to, a token). Longer uploads: " + HOW_TO_RAISE + ". The README has the details."
)
THEME_FONT_WEIGHTS = (400, 700)
"""Gradio's bundled Source Sans Pro and IBM Plex Mono semi-bold (600) files hold almost no glyphs: declaring
only 400 and 700 makes bold (600) text use the complete bold face instead of glyph-by-glyph fallbacks."""


def theme() -> gr.themes.Base:
    return gr.themes.Default(
        primary_hue="blue",
        font=(gr.themes.LocalFont("Source Sans Pro", weights=THEME_FONT_WEIGHTS), "ui-sans-serif", "system-ui",
              "sans-serif"),
        font_mono=(gr.themes.LocalFont("IBM Plex Mono", weights=THEME_FONT_WEIGHTS), "ui-monospace", "Consolas",
                   "monospace"),
    )


def models_markdown(models: Sequence[ModelInfo]) -> str:
    """What each model is, who trained it, where its weights come from, and whether it runs here (the reason
    a model cannot run is written for the owner of the server: what to install, download or set)."""
    lines = ["| Model | Linear | What it is | Weights | Here |", "|---|---|---|---|---|"]
    for m in models:
        here = "✔ playable" if m.available else f"not playable: {m.reason}"
        lines.append(
            f"| **{m.display_name}** (`{m.name}`) | {'yes' if m.linear else 'no'} | {m.description} "
            f"| {m.source} | {here} |"
        )
    return "\n".join(lines)


def tracks_note(tracks: Sequence[TrackInfo]) -> str:
    return "\n".join(f"- **{t.title}** — {t.source}; licence: {t.licence}" for t in tracks)


def build_demo(builder: TableBuilder, tracks: Sequence[TrackInfo], settings: Settings = Settings(),
               ahead: FirstTable | None = None) -> gr.Blocks:
    """The Blocks app; computation goes through `builder`, which wraps the engine; `ahead`, what the app is
    computing ahead of the first visitor. Listening tests are kept in `settings.listening_db` (default:
    `listening.sqlite` in the engine's cache folder)."""
    store = ListeningStore(settings.listening_db or db_path(builder.engine.cache_dir))
    choices = [(t.title, t.id) for t in tracks]
    track_ids = [t.id for t in tracks]
    # The first track's table when it is computed already (the app computes it while Gradio is imported): part of
    # the page itself, so the player fetches its audio as soon as it appears instead of after the page's first
    # request. Never waits: without it the page loads the table as any other.
    first = builder.cached(track_ids[0]) if track_ids else None

    def show_track(track_id: str | None, request: gr.Request, progress=gr.Progress()) -> Iterator[tuple[str, str]]:
        if not track_id:
            yield None, "No track selected."
            return
        for update in builder.updates(track_id, progress):
            yield deeplink.selected(update.value, track_id, request, track_ids), update.status

    @functools.cache
    def table_reads() -> anyio.CapacityLimiter:
        """Threads for tables read from the engine's cache, apart from anyio's default ones, which the API's calls
        use (made in the event loop, at the first read)."""
        return anyio.CapacityLimiter(TABLE_CONCURRENCY)

    async def cached_track(track_id: str | None, request: gr.Request) -> tuple[object, object, bool]:
        """A track's table when nothing needs computing, answered outside the queue (no wait behind other events);
        else nothing, and the queued event that follows computes it. A remembered table is answered in the event
        loop itself; only one that must be read from the engine's cache goes to a thread."""
        update = builder.remembered(track_id) if track_id else None
        if update is None and track_id:
            update = await anyio.to_thread.run_sync(builder.cached, track_id, limiter=table_reads())
        if update is None:
            return gr.skip(), gr.skip(), False
        return deeplink.selected(update.value, track_id, request, track_ids), update.status, True

    def computed_track(track_id: str | None, served: bool, request: gr.Request, progress=gr.Progress()):
        """The queued half of a track change: nothing when `cached_track` served it already."""
        if served:
            yield gr.skip(), gr.skip()
            return
        yield from show_track(track_id, request, progress)

    def open_page(track_id: str | None, request: gr.Request, progress=gr.Progress()):
        """A deep link switches the selector to its track (whose change event shows it); else show this one."""
        if deeplink.redirected(track_id, request, track_ids):
            yield deeplink.linked_track(request, track_ids), gr.skip(), gr.skip()
        else:
            for value, line in show_track(track_id, request, progress):
                yield gr.skip(), value, line
        prepare_figures()  # the page has (or is getting) its table: now the Analysis tab's plotting library
        if ahead is not None:
            ahead.page_loaded()  # and what was computed ahead goes on

    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=GRADIO_CACHE_CLEANUP) as demo:
        gr.HTML(INTRO, head=f"<style>{PAGE_CSS.read_text(encoding='utf-8')}</style>", elem_id="lincae-intro",
                padding=False)
        with gr.Row(elem_id="lincae-top", equal_height=True):
            track = gr.Dropdown(choices=choices, value=track_ids[0] if track_ids else None, label="Track",
                                show_label=False, container=False, scale=1, min_width=220, elem_id="lincae-track")
            with gr.Column(scale=3, min_width=220):
                status = gr.Markdown(first.status if first else "Loading…", elem_id="lincae-status")
        table = player(first.value if first else None)
        event = dict(fn=show_track, inputs=track, outputs=[table, status], show_progress_on=status,
                     concurrency_limit=TABLE_CONCURRENCY, concurrency_id="tables", api_visibility="private")
        page_loaded = demo.load(**{**event, "fn": open_page, "outputs": [track, table, status]})
        with gr.Tab("Latent mixer"):
            mixer_panel(builder, track, demo, page_loaded)
        with gr.Tab("Analysis") as analysis_tab:
            analysis_panel(builder, track, analysis_tab, ahead)
        with gr.Tab("Your own audio", elem_id="lincae-upload"):
            sources_panel(builder, track, tracks, settings)
        with gr.Tab("Listening test", elem_id=TAB_ID):
            listening_panel(builder, tracks, store, demo)
        with gr.Accordion("Models", open=False, elem_id="lincae-models"):
            models_md = gr.Markdown(models_markdown(builder.model_infos()))
            gr.Markdown(f"Computing on: {builder.engine.describe()}. {OWNERS_NOTE}")
        with gr.Accordion("Tracks", open=False):
            gr.Markdown(tracks_note(tracks))

        page_loaded.then(lambda: models_markdown(builder.model_infos()), outputs=models_md, api_visibility="private")
        served = gr.State(False)
        track.change(cached_track, inputs=track, outputs=[table, status, served], queue=False,
                     trigger_mode="always_last", api_name="cached_track", api_visibility="private").then(
            **{**event, "fn": computed_track, "inputs": [track, served]}
        ).then(lambda: models_markdown(builder.model_infos()), outputs=models_md, api_visibility="private")
        api_endpoints(builder, settings)
    demo.queue(max_size=QUEUE_SIZE)
    return demo


def launch_kwargs(cells_dir: str | Path, first_table: str | None = None) -> dict:
    """`launch()` arguments: theme, files the player fetches, and with `first_table` (the player value the page
    opens with) a page head that starts fetching its files at once. Host and port come from Gradio's own
    `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` (as on Hugging Face Spaces), so none are set here."""
    return {
        "theme": theme(),
        "allowed_paths": [str(cells_dir)],
        "max_file_size": MAX_UPLOAD_SIZE,
        "max_threads": PROCESSING_AT_ONCE,
        **({"head": prefetch_head(first_table)} if first_table else {}),
    }
