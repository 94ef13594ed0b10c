"""What the Listening test tab shows, without Gradio: a trial as a player value, a submission, results as text,
a figure and CSV files. `ui.listening` lays it out and wires the events.

A trial plays through the comparison player: one row, columns "Reference" (the open reference) and A, B, C…
(the rater's shuffled conditions, `lincae.listening.presentation`). Nothing in the value names a condition: the
columns are letters, and the server maps letters back to conditions from the test and rater ids.
"""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lincae.engine.cells import Cell, make_cell
from lincae.listening import Design, ListeningError, ListeningStore, PresentedTrial, make_design, presentation
from lincae.listening.audio import trial_audio
from lincae.listening.design import FIXED_CONDITIONS, condition_name
from lincae.listening.results import Results, box_plot, ratings_csv, screen, summarise, summary_csv
from lincae.models.base import ModelInfo
from lincae.rows import ROW_BY_ID
from ui.player import player_value
from ui.tables import TableBuilder

OPEN_REFERENCE = "reference"  # the player column of the open reference
TRIAL_CELLS = 256  # trials whose cells are kept in memory


@dataclass(frozen=True)
class TrialView:
    """The rater's next trial: `value` for the player, `header` for people, `labels` of its conditions."""

    test_id: str
    trial: int  # index in the design
    position: int  # 1-based, in this rater's order
    total: int
    labels: tuple[str, ...]
    value: str
    header: str
    problem: str = ""  # why the trial cannot be rated here ("" when it can)


def _column(name: str, display: str, description: str, sample_rate: int) -> ModelInfo:
    return ModelInfo(name, display, "listening", "", sample_rate, embedded=False, linear=False, available=True,
                     description=description)


class ListeningTests:
    """Listening tests on the page's tracks and models: `builder` computes the audio, `store` keeps the ratings."""

    def __init__(self, builder: TableBuilder, store: ListeningStore, track_titles: dict[str, str]) -> None:
        self.builder = builder
        self.store = store
        self.track_titles = dict(track_titles)
        self._cells: OrderedDict[tuple[Design, int], tuple[Cell, dict[str, Cell], dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    # --- designing ----------------------------------------------------------------------------------------

    def create(self, tracks: Sequence[str] | None, rows: Sequence[str] | None,
               models: Sequence[str] | None) -> Iterator[tuple[int, int, str | None]]:
        """Check the choice, compute every trial's audio, then store the test: yields (trials done, trials, None)
        while computing and finally (trials, trials, test id). `ListeningError` says what is wrong — also when a
        model fails on a trial, so a test is only created when every condition of every trial plays."""
        design = make_design(tracks, rows, models, known_tracks=list(self.track_titles),
                             model_infos=self.builder.model_infos(), seed=self.builder.seed)
        total = len(design.trials)
        for trial in design.trials:
            yield trial.index, total, None
            failures = self._trial_cells(design, trial.index)[2]
            if failures:
                names = self.names()
                raise ListeningError("No test created: " + "; ".join(
                    f"{names.get(m, m)} cannot play {self.track_titles[trial.track]} ({why})"
                    for m, why in failures.items()) + ". Uncheck it and create the test again.")
        yield total, total, self.store.create_test(design)

    # --- rating ---------------------------------------------------------------------------------------------

    def _trial_cells(self, design: Design, index: int) -> tuple[Cell, dict[str, Cell], dict[str, str]]:
        """(open reference, condition → cell, model → why it failed) of a trial, computed once."""
        key = (design, index)
        with self._lock:
            if key in self._cells:
                self._cells.move_to_end(key)
                return self._cells[key]
        trial = design.trials[index]
        track = self.builder.load_track(trial.track)
        audio = trial_audio(self.builder.engine, track, trial.row, design.models, design.seed)
        root = self.builder.cells_dir
        found = (make_cell(audio.reference, track.sample_rate, root),
                 {c: make_cell(x, track.sample_rate, root) for c, x in audio.conditions.items()},
                 audio.failures)
        if not audio.failures:  # a model may run again later (a download finished): don't remember failures
            with self._lock:
                self._cells[key] = found
                while len(self._cells) > TRIAL_CELLS:
                    self._cells.popitem(last=False)
        return found

    def next_trial(self, test_id: str, rater_id: str) -> TrialView | None:
        """The first trial, in the rater's order, that they have not rated; None when all are rated."""
        design = self.store.design(test_id)
        self._check_models(design)
        order = presentation(test_id, rater_id, design)
        done = self.store.rated_trials(test_id, rater_id)
        for position, presented in enumerate(order, start=1):
            if presented.trial.index not in done:
                return self._view(test_id, design, presented, position, len(order))
        return None

    def _check_models(self, design: Design) -> None:
        infos = {m.name: m for m in self.builder.model_infos()}
        missing = [n for n in design.models if n not in infos or not infos[n].available]
        if missing:
            why = "; ".join(f"{n}: {infos[n].reason if n in infos else 'not known here'}" for n in missing)
            raise ListeningError(f"This test needs models that cannot run here ({why}).")

    def _view(self, test_id: str, design: Design, presented: PresentedTrial, position: int, total: int) -> TrialView:
        trial = presented.trial
        reference, cells, failures = self._trial_cells(design, trial.index)
        track = self.builder.load_track(trial.track)
        row = ROW_BY_ID[trial.row]
        sr = track.sample_rate
        columns = [_column(OPEN_REFERENCE, "Reference", "The open reference: what the row should sound like", sr)]
        columns += [_column(label, label, f"Condition {label}", sr) for label in presented.labels]
        by_column = {OPEN_REFERENCE: reference}
        by_column.update({label: cells[c] for label, c in presented.by_label().items() if c in cells})
        value = player_value(track_id=track.id, title=track.title, duration=track.duration, models=columns,
                             cells={row.id: by_column}, reference={"gt_mix": reference}, sample_rate=sr,
                             rows=[dataclasses.replace(row, label=f"Trial {position} of {total}", formula=row.label)])
        header = (f"### Trial {position} of {total}: {row.label}\n`{row.formula}` on *{track.title}*. Rate how "
                  "close each condition sounds to the **Reference**.")
        problem = ""
        if failures:
            problem = ("This trial cannot be played here: "
                       + "; ".join(f"{condition_name(m, self.builder.model_infos())} {why}"
                                   for m, why in failures.items()) + ".")
        return TrialView(test_id, trial.index, position, total, presented.labels, value, header, problem)

    def submit(self, test_id: str, rater_id: str, trial: int | None, values: Sequence[float]) -> str:
        """Store the slider values (in label order) of the trial shown; returns a line saying so."""
        design = self.store.design(test_id)
        if trial is None:
            raise ListeningError("No trial is open: open the test first.")
        order = presentation(test_id, rater_id, design)
        position = next((k for k, p in enumerate(order, start=1) if p.trial.index == trial), None)
        if position is None:
            raise ListeningError(f"Trial {trial!r} is not in this test.")
        presented = order[position - 1]
        if len(values) < len(presented.labels):
            raise ListeningError("Rate every condition of the trial.")
        labels = presented.by_label()
        scores = {labels[label]: _number(v) for label, v in zip(presented.labels, values)}
        stored = self.store.submit(test_id, rater_id, int(trial), scores)
        return f"Saved {len(stored)} ratings of trial {position} of {len(order)}."

    # --- results ---------------------------------------------------------------------------------------------

    def results(self, test_id: str, post_screening: bool = True) -> Results:
        design = self.store.design(test_id)
        return summarise(test_id, design, self.store.ratings(test_id), post_screening)

    def names(self) -> dict[str, str]:
        """Condition → name for people (model display names, hidden reference, anchors)."""
        infos = self.builder.model_infos()
        return {c: condition_name(c, infos) for c in [*(m.name for m in infos), *FIXED_CONDITIONS]}

    def results_markdown(self, results: Results) -> str:
        names = self.names()
        if not results.stats:
            return f"No ratings yet for test `{results.test_id}`."
        lines = ["| Row | Condition | Mean | 95 % CI | Raters | Scores |", "|---|---|---|---|---|---|"]
        for s in results.stats:
            ci = "—" if s.ci95 is None else f"± {s.ci95:.1f} ({s.low:.1f} – {s.high:.1f})"
            lines.append(f"| {ROW_BY_ID[s.row].label} | {names.get(s.condition, s.condition)} | {s.mean:.1f} "
                         f"| {ci} | {s.n_raters} | {s.n_scores} |")
        return "\n".join(lines)

    def raters_markdown(self, results: Results) -> str:
        if not results.raters:
            return ""
        screened = "after post-screening" if results.post_screening else "post-screening off"
        lines = [f"**Raters: {len(results.included)} included of {len(results.raters)}** ({screened}; "
                 f"{len(results.design.trials)} trials in the test)", ""]
        for r in results.raters:
            state = f"excluded: {r.reason}" if r.excluded else "included"
            lines.append(f"- `{r.rater_id}` — {r.trials} trial(s) rated, {state}")
        return "\n".join(lines)

    def figure(self, results: Results):
        return box_plot(results, self.names()) if results.stats else None

    def csv_files(self, results: Results) -> list[str]:
        """ratings.csv (every rating, with an `excluded` column) and summary.csv, rewritten on each call."""
        ratings = self.store.ratings(results.test_id)
        folder = self.builder.cells_dir / "listening" / results.test_id
        folder.mkdir(parents=True, exist_ok=True)
        excluded = screen(ratings) if results.post_screening else {}
        texts = {"ratings": ratings_csv(ratings, results.design, excluded), "summary": summary_csv(results)}
        return [_write_text(folder / f"{results.test_id}-{name}.csv", text) for name, text in texts.items()]


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ListeningError(f"Score {value!r} is not a number from 0 to 100.") from None


def _write_text(path: Path, text: str) -> str:
    tmp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return str(path)
