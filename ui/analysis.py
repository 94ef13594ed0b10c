"""The analysis view: per track, a metrics table of every model that runs, linearity curves and a spectrogram of
any cell beside its reference. The numbers and figures come from `lincae.analysis` (computed by the engine,
cached); they are computed when the tab is first opened, then for each track chosen after that."""
from __future__ import annotations

import functools
import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import gradio as gr

from lincae import analysis, metrics
from lincae.analysis import ModelAnalysis
from lincae.registry import ModelUnavailable
from lincae.rows import ROWS
from lincae.table_metrics import METRICS
from ui.first_table import FirstTable
from ui.tables import TableBuilder

log = logging.getLogger(__name__)

MODEL_ROWS = [(r.label, r.id) for r in ROWS if not r.reference]
ROW_LABELS = {r.id: r.label for r in ROWS}
DEFAULT_ROW = "sep_vocals"
WORKERS = 2
"""Models analysed side by side: each analysis runs on one core (the embedded models compute on one thread)."""
AHEAD_WAIT_S = 30.0
"""The longest an analysis waits for the same track's analysis being computed ahead (then it computes its own)."""
TOGETHER_S = 0.3
"""Models that finish within this time of each other are shown in one update (each update redraws the plots)."""
_POOL = ThreadPoolExecutor(WORKERS, thread_name_prefix="analysis")
METRICS_NOTE = "\n".join(f"- **{m.label}** {'↑' if m.higher_is_better else '↓'} — {m.good}" for m in METRICS)


@functools.cache
def prepare_figures() -> None:
    """Import matplotlib on a background thread, once: called when a page has loaded, so the first Analysis opens
    without that wait, and a page that is still loading does not wait for it (it is a long import)."""
    threading.Thread(target=importlib.import_module, args=("matplotlib.figure",), daemon=True).start()


class Analyst:
    """Analyses of the table builder's tracks and models, with its engine and seed; a track computed `ahead` is
    waited for, not computed twice."""

    def __init__(self, builder: TableBuilder, ahead: FirstTable | None = None) -> None:
        self.builder = builder
        self.ahead = ahead

    def labels(self) -> dict[str, str]:
        return {m.name: m.display_name for m in self.builder.model_infos()}

    def available(self) -> list[str]:
        return [m.name for m in self.builder.model_infos() if m.available]

    def updates(self, track_id: str) -> Iterator[tuple[list[ModelAnalysis], str]]:
        """The analyses so far and a status line: first every model's metrics (from the table the page already
        computed, plus the origin-corrected decodes), then every model's curves (more decodes). The models of each
        step are computed side by side, `WORKERS` at a time; an update follows each one that finishes."""
        b = self.builder
        track = b.load_track(track_id)
        models = self.available()
        done: dict[str, ModelAnalysis] = {}
        failures: dict[str, str] = {}

        def analyse(name: str, curves: bool) -> ModelAnalysis:
            return analysis.analyse(b.engine, track, name, seed=b.seed, curves=curves)

        if self.ahead is not None and self.ahead.computing(track_id):  # then it is read from the cache
            yield [], f"Computing the analysis of {track.title}, started with the app…"
            self.ahead.finished.wait(AHEAD_WAIT_S)
        with metrics.reference_spectra():  # every model is measured against the same mix, vocals and stem sums
            yield from self._steps(models, analyse, done, failures, track_id)
        status = f"Analysed {len(done)} model(s) on {track.title}." if models else "No model can run here."
        if failures:
            status += " Not analysed: " + "; ".join(f"{n} ({why})" for n, why in failures.items())
        yield _in_order(done, models), status

    def _steps(self, models: list[str], analyse: Callable[[str, bool], ModelAnalysis],
               done: dict[str, ModelAnalysis], failures: dict[str, str], track_id: str) -> Iterator[tuple[list[ModelAnalysis], str]]:
        """Metrics, then curves, of every model not failed yet, side by side; an update before each wait."""
        labels = self.labels()
        for curves in (False, True):
            todo = [n for n in models if n not in failures]
            what = "the linearity curves of" if curves else "the metrics of"
            running = {_POOL.submit(analyse, name, curves): name for name in todo}
            while running:
                names = [labels[n] for n in todo if n in running.values()]
                yield _in_order(done, models), f"Computing {what} {_listed(names)}…"
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                finished |= wait(running.keys() - finished, timeout=TOGETHER_S)[0]
                for future in finished:
                    name = running.pop(future)
                    try:
                        done[name] = future.result()
                    except ModelUnavailable as err:
                        failures[name] = err.reason
                    except Exception as err:  # one broken model must not take the analysis down
                        log.exception("analysis of %s failed on %s", name, track_id, exc_info=err)
                        failures[name] = f"{type(err).__name__}: {err}"
                        done.pop(name, None)

    def spectrogram(self, track_id: str, row: str, model: str):
        b = self.builder
        track = b.load_track(track_id)
        audio = b.engine.track_table(track, model, seed=b.seed)[row]
        return analysis.spectrogram_figure(audio, analysis.reference_audio(track, row), track.sample_rate,
                                           f"{ROW_LABELS[row]} — {self.labels().get(model, model)}",
                                           reference_title(row))


def _in_order(done: dict[str, ModelAnalysis], models: list[str]) -> list[ModelAnalysis]:
    """The analyses done, in the order of the models (not the order they finished in)."""
    return [done[n] for n in models if n in done]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def reference_title(row: str) -> str:
    """What a model row is compared with, in words."""
    if row in ("ae_mix", "additivity"):
        return "Original Mix"
    if row.startswith("scale_"):
        return ROW_LABELS[row].replace("Latent Scaling ", "") + " Original Vocals"
    return "Original Vocals"


def analysis_panel(builder: TableBuilder, track: gr.Dropdown, tab: gr.Tab, ahead: FirstTable | None = None) -> None:
    """The analysis view (call inside `tab`); computed when `tab` is opened, then on every track change."""
    analyst = Analyst(builder, ahead)
    opened = gr.State(False)
    status = gr.Markdown("Open this tab to analyse the selected track.", elem_id="lincae-analysis-status")
    table = gr.Dataframe(label="Metrics per model (decode-vs-decode measures share the decoder seed)",
                         interactive=False, wrap=True, elem_id="lincae-metrics")
    with gr.Accordion("What the metrics mean", open=False):
        gr.Markdown(METRICS_NOTE)
    with gr.Row():
        with gr.Column():
            homogeneity = gr.Plot(label="Homogeneity", show_label=False, elem_id="lincae-homogeneity")
            gr.Markdown(analysis.HOMOGENEITY_GOOD)
        with gr.Column():
            additivity = gr.Plot(label="Additivity", show_label=False, elem_id="lincae-additivity")
            gr.Markdown(analysis.ADDITIVITY_GOOD)
    with gr.Row():
        row = gr.Dropdown(MODEL_ROWS, value=DEFAULT_ROW, label="Cell: operation", elem_id="lincae-spec-row")
        model = gr.Dropdown([], label="Cell: model", elem_id="lincae-spec-model")
    spectrogram = gr.Plot(label="Spectrogram of the cell beside its reference", show_label=False,
                          elem_id="lincae-spectrogram")
    gr.Markdown(analysis.SPECTROGRAM_GOOD)

    def model_choice(current: str | None) -> tuple[list[tuple[str, str]], str | None]:
        """The models that run here, and the one to show: the current one, else the first linear one."""
        names = analyst.available()
        labels = analyst.labels()
        linear = [m.name for m in builder.model_infos() if m.available and m.linear]
        return [(labels[n], n) for n in names], current if current in names else (linear or names or [None])[0]

    def spectrogram_of(track_id: str | None, row_id: str | None, model_name: str | None):
        if not track_id or not row_id or model_name not in analyst.available():
            return None
        try:
            return analyst.spectrogram(track_id, row_id, model_name)
        except Exception as err:
            log.exception("spectrogram failed")
            raise gr.Error(f"No spectrogram for this cell: {err}") from err

    def compute(track_id: str | None, row_id: str | None, model_name: str | None):
        if not track_id:
            yield None, None, None, "No track selected.", gr.skip(), None
            return
        labels = analyst.labels()
        choices, model_name = model_choice(model_name)
        drawn = -1  # models whose curves are in the figures (-1: the previous track's, cleared at once)
        for done, line in analyst.updates(track_id):
            headers, rows = analysis.metrics_table(done, labels)
            with_curves = [a for a in done if a.homogeneity]
            redraw = len(with_curves) != drawn  # figures only when a model's curves arrived (drawing costs time)
            drawn = len(with_curves)
            yield ({"headers": headers, "data": rows} if rows else None,
                   (analysis.homogeneity_figure(with_curves, labels) if with_curves else None) if redraw else gr.skip(),
                   (analysis.additivity_figure(with_curves, labels) if with_curves else None) if redraw else gr.skip(),
                   line, gr.update(choices=choices, value=model_name), gr.skip())
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), spectrogram_of(track_id, row_id, model_name)

    outputs = [table, homogeneity, additivity, status, model, spectrogram]
    common = dict(show_progress_on=status, concurrency_limit=1, concurrency_id="analysis",
                  trigger_mode="always_last", api_visibility="private")

    def compute_if_opened(is_open: bool, track_id, row_id, model_name):
        if not is_open:
            return
        yield from compute(track_id, row_id, model_name)

    tab.select(lambda: True, outputs=opened, api_visibility="private").then(
        compute, inputs=[track, row, model], outputs=outputs, **common)
    track.change(compute_if_opened, inputs=[opened, track, row, model], outputs=outputs, **common)
    for control in (row, model):
        control.input(spectrogram_of, inputs=[track, row, model], outputs=spectrogram, api_visibility="private",
                      concurrency_id="analysis")
