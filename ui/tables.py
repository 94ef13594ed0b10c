"""From a track id to the player's value: reference audio, one engine table per model, cells on disk.

The engine computes and caches the audio; this module only turns it into files the browser can fetch and
the JSON the player reads. A model that fails here becomes an N/A column with the reason, never an error, and
is tried again the next time the table is asked for: a Hub that failed once (a 503, a timeout) is not
remembered as broken. Only tables without failures are kept as finished.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lincae.data.track import Track
from lincae.data.uploads import TrackStore
from lincae.engine import Engine
from lincae.engine.cells import Cell, make_cell
from lincae.models.base import ModelInfo
from lincae.registry import ModelUnavailable
from lincae.rows import MODEL_ROWS, REFERENCE_ROWS, get_row
from ui.player import player_value

log = logging.getLogger(__name__)

DEFAULT_SEED = 0
FINISHED_TABLES = 64  # finished tables kept in memory (the engine's own cache keeps the audio)
"""The decoder seed shared by every cell of every track: differences between cells are the models'."""

Progress = Callable[..., object]


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
        self._finished: OrderedDict[str, TableUpdate] = OrderedDict()  # newest last, at most FINISHED_TABLES
        self._lock = threading.Lock()

    def load_track(self, track_id: str) -> Track:
        return self.tracks.load(track_id)

    def model_infos(self) -> list[ModelInfo]:
        """The registry's view; models that could not run are looked at again (local checks only), so weights
        that arrived, or a Hub that answers again, make a column playable without a restart."""
        if self._refresh is not None:
            self.models = [m if m.available else self._refresh(m.name) for m in self.models]
        return list(self.models)

    def updates(self, track_id: str, progress: Progress | None = None) -> Iterator[TableUpdate]:
        """The table before each model column is computed (the rest show as computing), then the whole table."""
        with self._lock:
            finished = self._finished.get(track_id)
            if finished is not None:
                self._finished.move_to_end(track_id)
        if finished is not None:
            yield finished
            return
        track = self.load_track(track_id)
        reference = {r: make_cell(get_row(r).original_audio(track), track.sample_rate, self.cells_dir)
                     for r in REFERENCE_ROWS}
        cells: dict[str, dict[str, Cell]] = {r: {} for r in MODEL_ROWS}
        failures: dict[str, str] = {}
        todo = [m for m in self.model_infos() if m.available]

        def update(status: str, done: bool = False) -> TableUpdate:
            models = [
                dataclasses.replace(m, available=False, reason=failures[m.name]) if m.name in failures else m
                for m in self.model_infos()
            ]
            value = player_value(track_id=track.id, title=track.title, duration=track.duration, models=models,
                                 cells=cells, reference=reference, sample_rate=track.sample_rate)
            return TableUpdate(value, status, done)

        for i, model in enumerate(todo):
            yield update(f"Computing {model.display_name} ({i + 1}/{len(todo)})…")
            step = _scaled(progress, i, len(todo))
            if step is not None:
                step(0.0, desc=f"{model.display_name}: loading")
            try:
                table = self.engine.track_table(track, model.name, seed=self.seed, progress=step)
            except ModelUnavailable as err:
                failures[model.name] = err.reason
            except Exception as err:  # a broken model must not take the page down with it
                log.exception("%s failed on %s", model.name, track.id)
                failures[model.name] = f"failed on this track ({type(err).__name__}: {err})"
            else:
                for row, audio in table.items():
                    cells[row][model.name] = make_cell(audio, track.sample_rate, self.cells_dir)
        final = update(_summary(len(todo) - len(failures), failures), done=True)
        if failures:  # tried again on the next request
            yield final
            return
        with self._lock:
            self._finished[track_id] = final
            while len(self._finished) > FINISHED_TABLES:  # uploads add tracks without end
                self._finished.popitem(last=False)
        yield final

    def warm(self, track_id: str) -> None:
        """Compute a track's table ahead of the first visitor (run it in a background thread)."""
        for _ in self.updates(track_id):
            pass


def _scaled(progress: Progress | None, index: int, total: int) -> Progress | None:
    """Map one model's 0..1 progress onto its share of the whole table."""
    if progress is None:
        return None

    def step(fraction: float, desc: str | None = None) -> None:
        progress((index + fraction) / total, desc=desc)

    return step


def _summary(ready: int, failures: dict[str, str]) -> str:
    if ready == 0 and not failures:
        return "No model can run here: the model list says why."
    text = f"Ready: {ready} model(s) playable."
    if failures:
        text += " Not playable: " + "; ".join(f"{name} ({why})" for name, why in failures.items())
        text += ". Tried again when the track is opened again."
    return text
