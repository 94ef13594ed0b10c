"""The Listening test tab: design a blind MUSHRA-style test (ITU-R BS.1534), rate it, watch the results arrive.

`?test=<id>` opens the tab on that test's next unrated trial; `?test=<id>&view=results` opens its results, updated
every few seconds (presenter mode: the audience rates on their phones, the projector shows the results). Each
browser keeps an anonymous rater id (encrypted in its local storage), so reopening the link continues where the
rater stopped. Endpoints for scripts: `/listening_results` and `/listening_submit`.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import gradio as gr

from lincae.data.library import TrackInfo
from lincae.listening import DEFAULT_ROWS, AlreadyRated, ListeningError, ListeningStore
from lincae.listening.design import LABELS
from lincae.rows import MODEL_ROWS, ROW_BY_ID
from ui import deeplink
from ui.listening_views import ListeningTests, TrialView
from ui.player import player
from ui.tables import TableBuilder

REFRESH_S = 5.0
QUALITY_LABELS = ("Bad", "Poor", "Fair", "Good", "Excellent")  # BS.1534's continuous quality scale, 20 points each
RATER_KEY = "lincae-listening-rater"
TAB_ID = "lincae-listening-tab"
INTRO = """\
**Blind listening test** after ITU-R BS.1534 (MUSHRA). Each trial plays one row of the table: the open
**Reference** and conditions **A, B, C…** in a random order — every model's cell, the reference itself (hidden)
and two low-pass anchors (3.5 kHz and 7 kHz). Rate how close each condition sounds to the reference, from 0 to
100; the hidden reference deserves 100. Switch freely while playing: the position stays (keys: Space play/pause,
1 Reference, 2… A…, ←/→ seek, S stop). A submitted trial is final.
"""
SCALE_CSS = """
.lc-mushra-scale { display: grid; grid-template-columns: repeat(5, 1fr); font-size: 0.8em; margin-top: 2px;
  color: var(--body-text-color-subdued); }
.lc-mushra-scale span { text-align: center; border-left: 1px solid var(--border-color-primary); }
.lc-mushra-scale span:first-child { border-left: none; }
"""
SCALE_HTML = '<div class="lc-mushra-scale">' + "".join(f"<span>{q}</span>" for q in QUALITY_LABELS) + "</div>"
SELECT_TAB_JS = f"""() => {{
  const q = new URLSearchParams(window.location.search);
  if (!q.get("test")) return;
  let tries = 0;
  const open = () => {{
    const button = document.getElementById("{TAB_ID}-button");
    if (!button) return ++tries > 100;
    button.click();
    const target = q.get("view") === "results" ? "lincae-listen-results" : "{TAB_ID}";
    setTimeout(() => document.getElementById(target)?.scrollIntoView({{block: "start"}}), 500);
    return true;
  }};
  if (!open()) {{ const t = setInterval(() => {{ if (open()) clearInterval(t); }}, 100); }}
}}"""


def page_url(request: gr.Request | None) -> str:
    """The page's own address (without its query), for links to share."""
    headers = getattr(request, "headers", None) or {}
    referer = headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"http://{headers.get('host', '127.0.0.1:7860')}/"


def share_markdown(request: gr.Request | None, test_id: str) -> str:
    base = page_url(request)
    return (f"- **Raters** open: [{base}?test={test_id}]({base}?test={test_id})\n"
            f"- **Results** (updates as ratings arrive): [{base}?test={test_id}&view=results]"
            f"({base}?test={test_id}&view=results)")


def listening_panel(builder: TableBuilder, tracks: Sequence[TrackInfo], store: ListeningStore, demo: gr.Blocks) -> None:
    """The tab's content (call inside the tab, whose elem_id must be `TAB_ID`) and the two endpoints."""
    tests = ListeningTests(builder, store, {t.id: t.title for t in tracks})
    rater = gr.BrowserState(None, storage_key=RATER_KEY, secret=store.secret())
    gr.Markdown(INTRO)
    with gr.Accordion("Design a test", open=False, elem_id="lincae-listen-design"):
        playable = [m for m in builder.model_infos() if m.available]
        track_box = gr.CheckboxGroup([(t.title, t.id) for t in tracks], value=[t.id for t in tracks],
                                     label="Tracks", elem_id="lincae-listen-tracks")
        row_box = gr.CheckboxGroup([(ROW_BY_ID[r].label, r) for r in MODEL_ROWS], value=list(DEFAULT_ROWS),
                                   label="Rows (one trial per track × row)", elem_id="lincae-listen-rows")
        model_box = gr.CheckboxGroup([(m.display_name, m.name) for m in playable], value=[m.name for m in playable],
                                     label="Models (those that run here)", elem_id="lincae-listen-models")
        create = gr.Button("Create test", variant="primary", elem_id="lincae-listen-create")
        design_status = gr.Markdown("", elem_id="lincae-listen-design-status")
    with gr.Row(equal_height=True):
        test_box = gr.Textbox(label="Test id", placeholder="from the presenter's link", elem_id="lincae-listen-test",
                              scale=3)
        open_button = gr.Button("Open test", elem_id="lincae-listen-open", scale=1)
    header = gr.Markdown("", elem_id="lincae-listen-header")
    trial_player = player(name="listening", links=False, elem_id="lincae-listen-player")
    columns, sliders = [], []
    for i, label in enumerate(LABELS):
        with gr.Column(visible=False, elem_classes="lc-mushra-condition") as column:
            sliders.append(gr.Slider(0, 100, value=0, step=1, label=label, elem_id=f"lincae-listen-score-{label}"))
            gr.HTML(SCALE_HTML, head=f"<style>{SCALE_CSS}</style>" if i == 0 else None, padding=False)
        columns.append(column)
    submit = gr.Button("Submit ratings", variant="primary", interactive=False, elem_id="lincae-listen-submit")
    message = gr.Markdown("", elem_id="lincae-listen-message")
    rater_note = gr.Markdown("", elem_id="lincae-listen-rater")
    shown_trial = gr.State(None)
    with gr.Accordion("Results", open=False, elem_id="lincae-listen-results") as results_box:
        with gr.Row():
            refresh = gr.Button("Refresh", elem_id="lincae-listen-refresh", scale=0, min_width=120)
            auto = gr.Checkbox(False, label=f"Update every {REFRESH_S:g} s", elem_id="lincae-listen-auto")
            screening = gr.Checkbox(True, label="Post-screening (BS.1534: exclude raters who miss the hidden "
                                    "reference or praise the 7 kHz anchor)", elem_id="lincae-listen-screening")
        summary = gr.Markdown("", elem_id="lincae-listen-summary")
        raters_md = gr.Markdown("", elem_id="lincae-listen-raters")
        plot = gr.Plot(label="Scores per condition", elem_id="lincae-listen-plot")
        files = gr.File(label="CSV: every rating, and the summary", file_count="multiple", interactive=False,
                        elem_id="lincae-listen-csv")
    timer = gr.Timer(REFRESH_S, active=False)

    trial_outputs = [header, trial_player, *columns, *sliders, shown_trial, submit, message, rater_note]
    result_outputs = [summary, raters_md, plot, files]

    def show(view: TrialView | None, note: str, rater_id: str, done: str = "") -> list:
        count = len(view.labels) if view else 0
        return [
            view.header if view else done,
            view.value if view else None,
            *(gr.Column(visible=i < count) for i in range(len(LABELS))),
            *(gr.Slider(value=0) for _ in LABELS),
            view.trial if view else None,
            gr.Button(interactive=bool(view) and not view.problem),
            view.problem if view and view.problem else note,
            f"Your anonymous rater id: `{rater_id}`" if rater_id else "",
        ]

    def next_trial(test_id: str | None, rater_id: str | None, note: str = "") -> list:
        if not rater_id:
            return show(None, "Reload the page to get a rater id.", "")
        try:
            view = tests.next_trial(test_id, rater_id)
        except ListeningError as err:
            return show(None, str(err), rater_id)
        if view is None:
            total = len(store.design(test_id).trials)
            return show(None, note, rater_id, f"### All {total} trials rated — thank you!")
        return show(view, note, rater_id)

    def results(test_id: str | None, post_screening: bool) -> list:
        try:
            found = tests.results(test_id, bool(post_screening))
        except ListeningError as err:
            return [str(err), "", None, None]
        return [tests.results_markdown(found), tests.raters_markdown(found), tests.figure(found),
                tests.csv_files(found)]

    def open_link(rater_id: str | None, post_screening: bool, request: gr.Request) -> list:
        rater_id = rater_id or secrets.token_hex(6)
        q = deeplink.query(request)
        test_id = q.get("test")
        if not test_id:
            return [rater_id, *[gr.skip()] * (1 + len(trial_outputs) + 1 + len(result_outputs) + 2)]
        if q.get("view") == "results":  # presenter mode: the results, updating themselves; no trial
            return [rater_id, test_id, *[gr.skip()] * len(trial_outputs), gr.Accordion(open=True),
                    *results(test_id, post_screening), gr.Timer(active=True), True]
        return [rater_id, test_id, *next_trial(test_id, rater_id), *[gr.skip()] * (1 + len(result_outputs) + 2)]

    def submit_trial(test_id: str | None, rater_id: str | None, trial: int | None, *values: float) -> list:
        try:
            saved = tests.submit(test_id, rater_id, trial, values)
        except AlreadyRated:  # e.g. from a second tab of the same browser
            return next_trial(test_id, rater_id, "You already rated this trial; your first ratings are kept.")
        except ListeningError as err:
            return [*[gr.skip()] * (len(trial_outputs) - 2), str(err), gr.skip()]
        return next_trial(test_id, rater_id, saved)

    def create_test(track_ids, row_ids, model_names, request: gr.Request):
        try:
            for done, total, test_id in tests.create(track_ids, row_ids, model_names):
                if test_id is None:
                    yield f"Preparing the audio: trial {done + 1} of {total}…", gr.skip()
        except ListeningError as err:
            yield str(err), gr.skip()
            return
        yield f"Test `{test_id}` is ready ({total} trials).\n\n{share_markdown(request, test_id)}", test_id

    listening = dict(concurrency_limit=16, concurrency_id="listening", api_visibility="private")
    gr.on([open_button.click, test_box.submit], next_trial, [test_box, rater], trial_outputs, show_progress_on=header,
          **listening)
    submit.click(submit_trial, [test_box, rater, shown_trial, *sliders], trial_outputs, show_progress_on=header,
                 **listening)
    create.click(create_test, [track_box, row_box, model_box], [design_status, test_box], concurrency_limit=1,
                 concurrency_id="tables", api_visibility="private")
    gr.on([refresh.click, screening.change], results, [test_box, screening], result_outputs, **listening)
    timer.tick(results, [test_box, screening], result_outputs, show_progress="hidden", **listening)
    auto.change(lambda on: gr.Timer(active=bool(on)), auto, timer, api_visibility="private")
    demo.load(None, js=SELECT_TAB_JS)
    demo.load(open_link, [rater, screening],
              [rater, test_box, *trial_outputs, results_box, *result_outputs, timer, auto], show_progress_on=header,
              **listening)
    listening_api(tests)


def listening_api(tests: ListeningTests) -> None:
    """`/listening_results` and `/listening_submit` for `gradio_client` (hidden components)."""

    def listening_results(test_id: str, post_screening: bool = True) -> dict:
        """Per row × condition mean, 95 % confidence interval and counts; raters and whether post-screening
        excluded them; the design (tracks, rows, models, conditions, trials)."""
        try:
            found = tests.results(test_id, bool(post_screening))
        except ListeningError as err:
            raise gr.Error(str(err), print_exception=False) from None
        return {**found.to_dict(), "names": {c: tests.names().get(c, c) for c in found.design.conditions}}

    def listening_submit(test_id: str, rater_id: str, trial: int, scores: dict) -> dict:
        """One rater's scores for one trial: `scores` maps every condition of the test (see `/listening_results`)
        to a number from 0 to 100. A trial is rated once per rater; a second submission is refused."""
        try:
            stored = tests.store.submit(test_id, rater_id, trial, scores)
        except ListeningError as err:
            raise gr.Error(str(err), print_exception=False) from None
        return {"test": test_id, "rater_id": rater_id, "trial": trial, "stored": len(stored)}

    with gr.Column(visible=False):
        test_id = gr.Textbox(label="test_id")
        rater_id = gr.Textbox(label="rater_id")
        trial = gr.Number(None, label="trial", precision=0)
        scores = gr.JSON(label="scores")
        post_screening = gr.Checkbox(True, label="post_screening")
        out = gr.JSON(label="result")
        buttons = [gr.Button(visible=False) for _ in range(2)]
    buttons[0].click(listening_results, [test_id, post_screening], out, api_name="listening_results",
                     concurrency_limit=4, concurrency_id="listening_api")
    buttons[1].click(listening_submit, [test_id, rater_id, trial, scores], out, api_name="listening_submit",
                     concurrency_limit=None)
