"""From a track id to the player's value: reference audio, one engine table per model, cells on disk.

The engine computes and caches the audio; this module only turns it into files the browser can fetch and
the JSON the player reads. A model that fails here becomes an N/A column with the reason, never an error, and
is tried again the next time the table is asked for: a Hub that failed once (a 503, a timeout) is not
remembered as broken. Only tables without failures are kept as finished, and only while their WAVs keep the
size they were written with: a remembered table whose files were deleted (disk budget), emptied or cut is rebuilt
from the engine's cache.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lincae.data.track import Track
from lincae.data.uploads import TrackStore
from lincae.engine import Engine
from lincae.engine.cells import Cell, make_cell
from lincae.engine.disk_budget import MIN_IDLE_S, touch
from lincae.models.base import ModelInfo
from lincae.registry import ModelUnavailable
from lincae.rows import DEFAULT_SEED, MODEL_ROWS, REFERENCE_ROWS, get_row
from ui.player import player_value

log = logging.getLogger(__name__)

FINISHED_TABLES = 64  # finished tables kept in memory (the engine's own cache keeps the audio)
COMPUTE_SLOTS = 2
"""Tables computed at once for the page; more wait their turn in arrival order. Cached tables never wait."""

TOUCH_EVERY = MIN_IDLE_S / 2
"""Seconds between two marks of a served table's files as used (for the disk budget): often enough that a table
in use is never evicted, rarely enough that serving it costs one `stat` per file, not two system calls."""

Progress = Callable[..., object]
TRY_FIRST = get_row("sep_vocals")
"""Where linear and non-linear models differ most to the ear: latent subtraction separates only in a linear
latent space."""


@dataclass(frozen=True)
class TableUpdate:
    """One step of building a track's table: the player value so far and a line for the status bar."""

    value: str
    status: str
    done: bool


class TableBuilder:
    """Builds (and remembers) the player value of each track, one model column at a time."""

    def __init__(
        self,
        engine: Engine,
        models: Sequence[ModelInfo],
        load_track: Callable[[str], Track],
        cells_dir: str | Path,
        seed: int = DEFAULT_SEED,
        refresh: Callable[[str], ModelInfo] | None = None,
    ) -> None:
        self.engine = engine
        self.models = list(models)
        self.tracks = TrackStore(load_track)
        """Tracks made at run time (uploads, MUSDB segments), found before those of `load_track`."""
        self.cells_dir = Path(cells_dir)
        self.seed = seed
        self._refresh = refresh  # the registry's look at one model, asked again for those that could not run
        # Complete tables, newest last, at most FINISHED_TABLES: the final update and the cells it plays.
        self._finished: OrderedDict[str, tuple[TableUpdate, list[Cell]]] = OrderedDict()
        self._touched: dict[str, float] = {}  # track id → when its table's files were last marked used
        self._lock = threading.Lock()
        self.compute_slots = threading.Semaphore(COMPUTE_SLOTS)  # wakes waiters first come, first served

    def load_track(self, track_id: str) -> Track:
        return self.tracks.load(track_id)

    def model_infos(self) -> list[ModelInfo]:
        """The registry's view; models that could not run are looked at again (local checks only), so weights
        that arrived, or a Hub that answers again, make a column playable without a restart."""
        if self._refresh is not None:
            self.models = [m if m.available else self._refresh(m.name) for m in self.models]
        return list(self.models)

    def remembered(self, track_id: str) -> TableUpdate | None:
        """The finished table if it is remembered with its files whole, else None: a dictionary look-up and a
        few file-system calls, never any audio read (fit for the event loop)."""
        now = time.monotonic()
        with self._lock:
            finished = self._finished.get(track_id)
            if finished is not None:
                self._finished.move_to_end(track_id)
                due = now - self._touched.get(track_id, -math.inf) >= TOUCH_EVERY
                if due:
                    self._touched[track_id] = now
        if finished is None:
            return None
        update, cells = finished
        if all(c.is_complete() for c in cells):
            if due:
                for c in cells:
                    touch(c.path)
            return update
        with self._lock:  # a WAV was deleted (disk budget), emptied or cut: `cached` rebuilds it
            self._finished.pop(track_id, None)
            self._touched.pop(track_id, None)
        return None

    def cached(self, track_id: str) -> TableUpdate | None:
        """The finished table if nothing needs computing (remembered with its files whole, or every column in
        the engine's cache), else None. Never computes, never loads a model, never waits for a computation."""
        update = self.remembered(track_id)
        if update is not None:
            return update
        track = self.load_track(track_id)
        tables = {}
        for model in self.model_infos():
            if model.available:
                tables[model.name] = self.engine.cached_table(track, model.name, seed=self.seed)
                if tables[model.name] is None:
                    return None
        build = _TableBuild(self, track)
        for name, table in tables.items():
            build.add(name, table)
        return self._remember(track_id, build.update(build.status(), done=True), build.all_cells())

    def updates(self, track_id: str, progress: Progress | None = None) -> Iterator[TableUpdate]:
        """The table before each model column is computed (the rest show as computing), then the whole table."""
        cached = self.cached(track_id)
        if cached is not None:
            yield cached
            return
        build = _TableBuild(self, self.load_track(track_id))
        if not self.compute_slots.acquire(blocking=False):
            yield build.update("Waiting for a free slot: other tables are being computed…")
            self.compute_slots.acquire()
        try:
            yield from self._compute(build, progress)
        finally:
            self.compute_slots.release()

    def _compute(self, build: _TableBuild, progress: Progress | None) -> Iterator[TableUpdate]:
        track_id = build.track.id
        todo = [m for m in self.model_infos() if m.available]
        for i, model in enumerate(todo):
            yield build.update(f"Computing {model.display_name} ({i + 1}/{len(todo)}); the table fills in as each "
                               "model finishes…")
            step = _scaled(progress, i, len(todo))
            if step is not None:
                step(0.0, desc=f"{model.display_name}: loading")
            try:
                table = self.engine.track_table(build.track, model.name, seed=self.seed, progress=step)
            except ModelUnavailable as err:
                build.failures[model.name] = err.reason
            except Exception as err:  # a broken model must not take the page down with it
                log.exception("%s failed on %s", model.name, track_id)
                build.failures[model.name] = f"failed on this track ({type(err).__name__}: {err})"
                build.crashed.add(model.name)
            else:
                build.add(model.name, table)
        final = build.update(build.status(), done=True)
        if not build.failures:  # a failed column is tried again on the next request
            self._remember(track_id, final, build.all_cells())
        yield final

    def _remember(self, track_id: str, final: TableUpdate, cells: list[Cell]) -> TableUpdate:
        for c in cells:  # a computed table's first cells were made before it waited and computed
            touch(c.path)
        with self._lock:
            self._finished[track_id] = (final, cells)
            self._finished.move_to_end(track_id)
            self._touched[track_id] = time.monotonic()  # marked used just below
            while len(self._finished) > FINISHED_TABLES:  # uploads add tracks without end
                gone, _ = self._finished.popitem(last=False)
                self._touched.pop(gone, None)
        return final

    def warm(self, track_id: str) -> None:
        """Compute a track's table ahead of the first visitor (run it in a background thread)."""
        for _ in self.updates(track_id):
            pass


class _TableBuild:
    """One table being put together: reference cells, model cells as their tables arrive, failures."""

    def __init__(self, builder: TableBuilder, track: Track) -> None:
        self.builder = builder
        self.track = track
        self.reference = {r: make_cell(get_row(r).original_audio(track), track.sample_rate, builder.cells_dir)
                          for r in REFERENCE_ROWS}
        self.cells: dict[str, dict[str, Cell]] = {r: {} for r in MODEL_ROWS}
        self.failures: dict[str, str] = {}  # model → why it has no column (could not load, or failed)
        self.crashed: set[str] = set()  # the models that loaded but failed on this track

    def add(self, model_name: str, table: dict) -> None:
        for row, audio in table.items():
            self.cells[row][model_name] = make_cell(audio, self.track.sample_rate, self.builder.cells_dir)

    def all_cells(self) -> list[Cell]:
        return [*self.reference.values(), *(c for row in self.cells.values() for c in row.values())]

    def models(self) -> list[ModelInfo]:
        return [
            dataclasses.replace(m, available=False, reason=self.failures[m.name]) if m.name in self.failures else m
            for m in self.builder.model_infos()
        ]

    def status(self) -> str:
        return status_line(self.models(), failed=self.crashed, retried=bool(self.failures))

    def update(self, status: str, done: bool = False) -> TableUpdate:
        t = self.track
        value = player_value(track_id=t.id, title=t.title, duration=t.duration, models=self.models(),
                             cells=self.cells, reference=self.reference, sample_rate=t.sample_rate,
                             try_first=TRY_FIRST.id)
        return TableUpdate(value, status, done)


def _scaled(progress: Progress | None, index: int, total: int) -> Progress | None:
    """Map one model's 0..1 progress onto its share of the whole table."""
    if progress is None:
        return None

    def step(fraction: float, desc: str | None = None) -> None:
        progress((index + fraction) / total, desc=desc)

    return step


def _names(models: Sequence[ModelInfo]) -> str:
    """Display names without their parenthesis ("Lin-CAE (official)" → "Lin-CAE"): the header says it."""
    names = [m.display_name.split(" (")[0] for m in models]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def status_line(models: Sequence[ModelInfo], failed: Collection[str] = (), retried: bool = False) -> str:
    """What can be heard and why the rest cannot, in a listener's words, with the row to try first.

    `models` as the table shows them (a model that could not load is unavailable); `failed`: models that loaded
    but failed on this track. The owners' how-to (weights, tokens) is in the Models panel, with each reason.
    """
    playable = [m for m in models if m.available and m.name not in failed]
    missing = [m for m in models if not m.available and m.name not in failed]
    crashed = [m for m in models if m.name in failed]
    parts = [f"**Ready. Playable:** {_names(playable)}." if playable else "**Ready, but no model can play here.**"]
    if missing:
        parts.append(f"Not on this server: {_names(missing)} (no weights here; see Models, below).")
    if crashed:
        parts.append(f"Failed on this track: {_names(crashed)}.")
    if retried:
        parts.append("Tried again when the track is opened again.")
    if any(m.linear for m in playable) and any(not m.linear for m in playable):
        parts.append(f"Try first: **{TRY_FIRST.label}**, a linear model, then a baseline.")
    return " ".join(parts)
