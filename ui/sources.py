"""More sources for the table: the user's own files, and segments of a local MUSDB18-HQ folder.

A new track joins the track selector of the session that made it, and only that one: the session's state
holds the tracks, the shared `TrackStore` only finds them by id while the session lives. Selecting it
computes its table like any bundled track.
"""
from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence

import gradio as gr

from lincae.data import musdb
from lincae.data.library import TrackInfo
from lincae.data.track import Track
from lincae.data.uploads import FORMATS, MIXTURE, MODE_MIXTURE, AudioInputError, build_track
from lincae.settings import ENVIRONMENT, Settings
from ui.tables import TableBuilder

UPLOAD_CONCURRENCY = 4
"""Reading and resampling a few files takes well under a second: several sessions may do it at once."""
SESSION_TRACKS = 8
"""Tracks one session keeps (the oldest goes first); each holds up to four stems of the duration limit."""
FILE_TYPES = [".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".m4a", ".aac"]
MODE_CHOICES = [("Four stems", "stems"), ("Mixture + vocals", MODE_MIXTURE)]
MIXTURE_NOTE = (
    "**Mixture + vocals:** the accompaniment is mixture − vocals and takes the place of *other*; *drums* and "
    "*bass* are silence. *Latent Addition* therefore decodes z_vocals + z_accomp + 2·Enc(silence): the same as "
    "Dec(z_vocals + z_accomp) only for a model whose Enc(silence) is zero."
)


def _intro(limit: float) -> str:
    return (
        f"Upload **four stems** (vocals, drums, bass, other) or a **mixture and its vocals**: {FORMATS}, any "
        f"sample rate and number of channels (converted to 44.1 kHz mono). The same segment (start, length, at "
        f"most **{limit:g} s**) is taken from every file; a file that is shorter, or ends before the segment "
        "starts, is padded with silence. Your tracks are listed for you only, for this session."
    )


def _choices(tracks: Sequence[TrackInfo], mine: dict[str, Track]) -> list[tuple[str, str]]:
    return [(t.title, t.id) for t in tracks] + [(f"{t.title} — yours", t.id) for t in mine.values()]


def _remember(mine: dict[str, Track], track: Track) -> dict[str, Track]:
    kept = {k: v for k, v in mine.items() if k != track.id}
    kept[track.id] = track
    return dict(list(kept.items())[-SESSION_TRACKS:])


def unique_title(title: str, taken: Sequence[str]) -> str:
    """`title`, or `title #2`, `#3`… when this session already lists a track of that name."""
    n = 1
    candidate = title
    while candidate in taken:
        n += 1
        candidate = f"{title} #{n}"
    return candidate


def _message(kind: str, text: str) -> str:
    """The upload panel's one message: "" working, ✔ added, ✖ refused (text glyphs, no emoji font needed)."""
    return f"{kind} {text}".strip()


def sources_panel(builder: TableBuilder, track_selector: gr.Dropdown, tracks: Sequence[TrackInfo],
                  settings: Settings) -> None:
    """The upload (and, with `settings.musdb_dir`, MUSDB18-HQ) controls; a new track joins `builder.tracks` and
    is selected in `track_selector`. Call inside a container (the page puts it in a tab)."""
    store = builder.tracks
    limit = settings.max_seconds
    mine = gr.State({})  # this session's tracks: id → Track (they live as long as the session)

    def add(track: Track, session: dict[str, Track]) -> tuple[Track, gr.Dropdown, dict[str, Track]]:
        """The new track (its title made unique among the tracks this session lists), the track selector
        selecting it, and the session's tracks."""
        others = [t.title for t in tracks] + [t.title for k, t in session.items() if k != track.id]
        track = store.add(dataclasses.replace(track, title=unique_title(track.title, others)))
        session = _remember(session, track)
        return track, gr.Dropdown(choices=_choices(tracks, session), value=track.id), session

    gr.Markdown(_intro(limit))
    mode = gr.Radio(MODE_CHOICES, value="stems", label="What you upload", elem_id="lincae-upload-mode")
    with gr.Row(equal_height=True):
        files = {
            name: gr.File(label=name.capitalize(), file_types=FILE_TYPES, type="filepath", height=120,
                          visible=name != MIXTURE, elem_id=f"lincae-upload-{name}")
            for name in ("vocals", "drums", "bass", "other", MIXTURE)
        }
    with gr.Row():
        start = gr.Number(0.0, label="Start (s)", minimum=0, elem_id="lincae-upload-start")
        length = gr.Number(min(limit, 10.0), label=f"Length (s, at most {limit:g}; empty: to the end)",
                           elem_id="lincae-upload-length")
        title = gr.Textbox(label="Title (optional)", placeholder="My song", elem_id="lincae-upload-title")
    add_button = gr.Button("Add to the track list", variant="primary", elem_id="lincae-upload-add")
    upload_note = gr.Markdown(elem_id="lincae-upload-note")

    def show_inputs(choice: str) -> list[gr.File]:
        mixture = choice == MODE_MIXTURE
        return [gr.File(visible=(name in ("vocals", MIXTURE)) if mixture else name != MIXTURE) for name in files]

    mode.change(show_inputs, mode, list(files.values()), api_visibility="private", queue=False)

    def add_upload(choice, vocals, drums, bass, other, mixture, seg_start, seg_length, name, session):
        """Yields a working note first (reading and resampling long files takes seconds), then the result:
        the new track selected and the title cleared, or the error, in the same note."""
        chosen = {"vocals": vocals, MIXTURE: mixture} if choice == MODE_MIXTURE else \
            {"vocals": vocals, "drums": drums, "bass": bass, "other": other}
        yield gr.skip(), gr.skip(), _message("", "Reading and converting your files…"), gr.skip()
        try:
            upload = build_track(chosen, start=seg_start or 0.0, length=seg_length, limit=limit,
                                 title=name)
        except AudioInputError as err:
            yield gr.skip(), gr.skip(), _message("✖", html.escape(str(err))), gr.skip()
            return
        added, selector, session = add(upload.track, session)
        note = _message("✔", f"Added **{html.escape(added.title)}**: {added.duration:.1f} s, selected in the "
                             "track list.")
        if upload.mode == MODE_MIXTURE:
            note += "\n\n" + MIXTURE_NOTE
        if upload.warnings:
            note += "\n\n" + "\n".join(f"- ⚠ {html.escape(w)}" for w in upload.warnings)
        yield selector, session, note, ""

    add_button.click(
        add_upload,
        inputs=[mode, *files.values(), start, length, title, mine],
        outputs=[track_selector, mine, upload_note, title],
        show_progress_on=upload_note, concurrency_limit=UPLOAD_CONCURRENCY, concurrency_id="uploads",
        api_visibility="private",
    )

    root = settings.musdb_dir
    if root is not None:
        _musdb_panel(root, limit, mine, track_selector, add)


def _musdb_panel(root, limit: float, mine: gr.State, track_selector: gr.Dropdown, add) -> None:
    with gr.Accordion("MUSDB18-HQ", open=False, elem_id="lincae-musdb"):
        try:
            found = musdb.list_test_tracks(root)
        except (FileNotFoundError, OSError) as err:
            gr.Markdown(f"⚠️ {err}. Set `{ENVIRONMENT['musdb_dir']}` or `--musdb` to the dataset's folder.")
            return
        gr.Markdown(f"{len(found)} test tracks in `{root}`. Choose one and a segment of at most {limit:g} s.")
        with gr.Row():
            name = gr.Dropdown([(f"{t.name} ({t.duration:.0f} s)", t.name) for t in found], value=found[0].name,
                               label="Track", elem_id="lincae-musdb-track")
            start = gr.Number(0.0, label="Start (s)", minimum=0, elem_id="lincae-musdb-start")
            length = gr.Number(min(limit, 10.0), label=f"Length (s, at most {limit:g})", elem_id="lincae-musdb-length")
        button = gr.Button("Add to the track list", elem_id="lincae-musdb-add")
        note = gr.Markdown()

    def add_segment(track_name, seg_start, seg_length, session):
        try:
            track = musdb.load_segment(root, track_name, seg_start or 0.0, seg_length or limit, limit)
        except (AudioInputError, KeyError) as err:
            return gr.skip(), gr.skip(), _message("✖", html.escape(str(err).strip("'\"")))
        added, selector, session = add(track, session)
        return selector, session, _message("✔", f"Added **{added.title}**, selected in the track list.")

    button.click(add_segment, inputs=[name, start, length, mine], outputs=[track_selector, mine, note],
                 concurrency_limit=UPLOAD_CONCURRENCY, concurrency_id="uploads", api_visibility="private")

