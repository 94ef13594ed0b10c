"""The listening-test library: designs, the blind order, the SQLite store, post-screening and statistics, anchors."""
from __future__ import annotations

import math
import sqlite3
import threading

import numpy as np
import pytest

from engine_fakes import IdentityAE
from lincae.engine import Engine
from lincae.listening import (
    HIDDEN_REFERENCE,
    AlreadyRated,
    ListeningError,
    ListeningStore,
    Design,
    UnknownTest,
    make_design,
    presentation,
)
from lincae.listening.audio import lowpass, trial_audio
from lincae.listening.results import box_plot, ratings_csv, screen, summarise, summary_csv
from test_app import info, loader_for, make_track

SR = 44100
MODELS = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token")]
DESIGN = Design(tracks=("t1",), rows=("ae_mix", "additivity", "sep_vocals"), models=("linear", "noisy"))
# t(0.975, df) for df = 1, 2, 3, 5: from printed tables of Student's t distribution
T975 = {1: 12.7062, 2: 4.3027, 3: 3.1824, 5: 2.5706}


@pytest.fixture
def store(tmp_path) -> ListeningStore:
    return ListeningStore(tmp_path / "db" / "listening.sqlite")


def scores_for(design: Design, **overrides: float) -> dict[str, float]:
    return {c: overrides.get(c, 60.0) for c in design.conditions}


def test_a_design_keeps_the_known_order_and_counts_trials():
    d = make_design(["t2", "t1"], ["sep_vocals", "ae_mix"], ["noisy", "linear"], known_tracks=["t1", "t2"],
                    model_infos=MODELS)
    assert d.tracks == ("t1", "t2") and d.rows == ("ae_mix", "sep_vocals") and d.models == ("linear", "noisy")
    assert [(t.track, t.row) for t in d.trials] == [("t1", "ae_mix"), ("t1", "sep_vocals"), ("t2", "ae_mix"),
                                                   ("t2", "sep_vocals")]
    assert d.conditions == ("linear", "noisy", HIDDEN_REFERENCE, "anchor_3_5k", "anchor_7k")
    assert Design.from_dict(d.to_dict()) == d


@pytest.mark.parametrize(("tracks", "rows", "models", "message"), [
    ([], ["ae_mix"], ["linear"], "Pick at least one track"),
    (["nope"], ["ae_mix"], ["linear"], "Unknown track"),
    (["t1"], [], ["linear"], "Pick at least one row"),
    (["t1"], ["gt_mix"], ["linear"], "Not a model row"),
    (["t1"], ["ae_mix"], [], "no playable model"),
    (["t1"], ["ae_mix"], ["gated"], "no playable model (Gated: needs an HF token)"),
    (["t1"], ["ae_mix"], ["linear", "gated"], "cannot run here: Gated (needs an HF token)"),
    (["t1"], ["ae_mix"], ["linear", "mystery"], "Unknown model"),
])
def test_a_bad_design_is_refused_with_a_message(tracks, rows, models, message):
    with pytest.raises(ListeningError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_design(tracks, rows, models, known_tracks=["t1"], model_infos=MODELS)


def test_each_rater_gets_a_shuffled_order_that_stays_the_same():
    design = Design(tracks=("a", "b", "c"), rows=("ae_mix", "additivity", "sep_vocals"), models=("m1", "m2"))
    orders = {rater: presentation("test1", rater, design) for rater in ("r1", "r2", "r3", "r4")}
    assert presentation("test1", "r1", design) == orders["r1"]  # reopening the link gives the same order
    for p in orders.values():
        assert sorted(t.trial.index for t in p) == list(range(9))
        assert all(sorted(t.conditions) == sorted(design.conditions) for t in p)
        assert all(t.labels == tuple("ABCDE") for t in p)
    assert len({tuple(t.trial.index for t in p) for p in orders.values()}) > 1  # trial order differs by rater
    first = {rater: p[0].conditions for rater, p in orders.items()}
    hidden = [t.conditions.index(HIDDEN_REFERENCE) for p in orders.values() for t in p]
    assert len(set(first.values())) > 1 and len(set(hidden)) > 2  # the hidden reference moves around


def test_ratings_are_stored_one_row_each_and_survive_a_new_store(store, tmp_path):
    test_id = store.create_test(DESIGN)
    rows = store.submit(test_id, "rater-1", 1, scores_for(DESIGN, linear=80, noisy=30, hidden_reference=100))
    assert len(rows) == len(DESIGN.conditions)
    again = ListeningStore(store.path)  # what the app does after a restart
    stored = again.ratings(test_id)
    assert {(r.rater_id, r.trial, r.condition, r.score) for r in stored} == {
        ("rater-1", 1, c, s) for c, s in scores_for(DESIGN, linear=80, noisy=30, hidden_reference=100).items()}
    shown = {p.trial.index: p.by_label() for p in presentation(test_id, "rater-1", DESIGN)}[1]
    assert {r.label: r.condition for r in stored} == shown  # the letter the rater saw is kept with each rating
    assert again.rated_trials(test_id, "rater-1") == {1}
    assert sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_second_submission_of_a_trial_is_refused_and_the_first_kept(store):
    test_id = store.create_test(DESIGN)
    store.submit(test_id, "r", 0, scores_for(DESIGN, linear=10))
    with pytest.raises(AlreadyRated, match="already rated"):
        store.submit(test_id, "r", 0, scores_for(DESIGN, linear=99))
    assert [r.score for r in store.ratings(test_id) if r.condition == "linear"] == [10.0]


@pytest.mark.parametrize(("trial", "scores", "message"), [
    (0, {"linear": 101.0}, "not a number from 0 to 100"),
    (0, {"linear": -1.0}, "not a number from 0 to 100"),
    (0, {"linear": float("nan")}, "not a number"),
    (0, {"linear": "80"}, "not a number"),
    (0, {"linear": True}, "not a number"),
    (3, {}, "Trial 3 is not in this test"),
    (-1, {}, "not in this test"),
])
def test_bad_scores_and_trials_are_refused_and_nothing_is_stored(store, trial, scores, message):
    test_id = store.create_test(DESIGN)
    with pytest.raises(ListeningError, match=message):
        store.submit(test_id, "r", trial, {**scores_for(DESIGN), **scores})
    assert store.ratings(test_id) == []


def test_missing_or_foreign_conditions_unknown_tests_and_bad_rater_ids_are_refused(store):
    test_id = store.create_test(DESIGN)
    partial = scores_for(DESIGN)
    del partial["noisy"]
    with pytest.raises(ListeningError, match="missing noisy"):
        store.submit(test_id, "r", 0, partial)
    with pytest.raises(ListeningError, match="not in this test: other"):
        store.submit(test_id, "r", 0, {**scores_for(DESIGN), "other": 50})
    with pytest.raises(ListeningError, match="rater id"):
        store.submit(test_id, "r'; DROP TABLE ratings; --", 0, scores_for(DESIGN))
    with pytest.raises(UnknownTest, match="no listening test 'nope'"):
        store.submit("nope", "r", 0, scores_for(DESIGN))
    with pytest.raises(UnknownTest, match="No test id"):
        store.design("")
    assert store.ratings(test_id) == []


def test_twenty_raters_submitting_at_once_lose_nothing(store):
    test_id = store.create_test(DESIGN)
    start = threading.Barrier(20)
    errors = []

    def rate(i: int) -> None:
        start.wait()
        try:
            for trial in range(3):
                store.submit(test_id, f"rater-{i}", trial, scores_for(DESIGN, linear=i))
            store.submit(test_id, f"rater-{i}", 0, scores_for(DESIGN))  # a double submission, refused
        except AlreadyRated:
            pass
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ratings = store.ratings(test_id)
    assert len(ratings) == 20 * 3 * len(DESIGN.conditions)
    assert sorted(r.score for r in ratings if r.condition == "linear") == sorted(float(i) for i in range(20)
                                                                                 for _ in range(3))


def test_means_and_confidence_intervals_match_a_hand_computation(store):
    test_id = store.create_test(DESIGN)
    linear = {"a": [90, 80, 70], "b": [60, 75, 80], "c": [85, 95, 65]}  # rater → score per trial 0, 1, 2
    for rater, values in linear.items():
        for trial, v in enumerate(values):
            store.submit(test_id, rater, trial, scores_for(DESIGN, linear=v, hidden_reference=100))
    results = summarise(test_id, DESIGN, store.ratings(test_id))
    by_key = {(s.row, s.condition): s for s in results.stats}
    ae_mix = [90, 60, 85]  # trial 0 is (t1, ae_mix)
    mean = sum(ae_mix) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in ae_mix) / 2)
    s = by_key[("ae_mix", "linear")]
    assert s.mean == pytest.approx(mean) and s.ci95 == pytest.approx(T975[2] * sd / math.sqrt(3), rel=1e-4)
    assert (s.n_scores, s.n_raters) == (3, 3)
    assert by_key[("ae_mix", HIDDEN_REFERENCE)].ci95 == 0.0
    assert results.included == ["a", "b", "c"]


def test_post_screening_excludes_raters_who_miss_the_hidden_reference_or_praise_the_anchor(store):
    design = Design(tracks=("t1", "t2"), rows=("ae_mix", "additivity", "sep_vocals"), models=("linear",))
    test_id = store.create_test(design)
    plan = {  # rater → hidden reference / 7 kHz anchor score per trial (6 trials; 15 % of 6 = 0.9 trials)
        "careful": ([100] * 6, [40] * 6),
        "missed-once": ([100] * 5 + [50], [40] * 6),
        "anchor-fan": ([100] * 6, [40] * 5 + [95]),
        "borderline": ([90] * 6, [90] * 6),  # 90 is not below 90, and not above it
    }
    for rater, (refs, anchors) in plan.items():
        for trial in range(6):
            store.submit(test_id, rater, trial, scores_for(design, hidden_reference=refs[trial],
                                                           anchor_7k=anchors[trial], linear=50 + trial))
    excluded = screen(store.ratings(test_id))
    assert set(excluded) == {"missed-once", "anchor-fan"}
    assert "hidden reference below 90 in 1 of 6 trials" in excluded["missed-once"]
    assert "anchor above 90 in 1 of 6" in excluded["anchor-fan"]
    results = summarise(test_id, design, store.ratings(test_id))
    assert sorted(results.included) == ["borderline", "careful"]
    assert {s.n_raters for s in results.stats} == {2}
    unscreened = summarise(test_id, design, store.ratings(test_id), post_screening=False)
    assert {s.n_raters for s in unscreened.stats} == {4}


def test_csv_exports_and_the_box_plot(store):
    test_id = store.create_test(DESIGN)
    store.submit(test_id, "good", 0, scores_for(DESIGN, hidden_reference=100, linear=70))
    store.submit(test_id, "bad", 0, scores_for(DESIGN, hidden_reference=50, linear=20))
    ratings = store.ratings(test_id)
    excluded = screen(ratings)
    lines = ratings_csv(ratings, DESIGN, excluded).splitlines()
    assert lines[0].startswith("test_id,rater_id,trial,track,row,condition,label,score")
    assert len(lines) == 1 + 2 * len(DESIGN.conditions)
    assert all(line.endswith(",1") for line in lines[1:] if ",bad," in line)
    results = summarise(test_id, DESIGN, ratings)
    summary = summary_csv(results).splitlines()
    assert "ae_mix,linear,70.0000,,,,1,1" in summary
    fig = box_plot(results, {"linear": "Linear"})
    assert len(fig.axes) == 3 and "Linear" in [t.get_text() for t in fig.axes[0].get_xticklabels()]


def test_anchors_are_the_reference_low_passed_at_3_5_and_7_khz(tmp_path):
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache", loader=loader_for(IdentityAE("linear")))
    track = make_track("t1", 1.0)
    t = np.arange(SR) / SR
    audio = trial_audio(engine, track, "sep_vocals", ["linear", "offline"], seed=0)
    np.testing.assert_array_equal(audio.conditions[HIDDEN_REFERENCE], track.stems["vocals"])
    np.testing.assert_allclose(audio.conditions["linear"], track.stems["vocals"], atol=1e-6)
    assert audio.failures == {"offline": "weights not reachable offline"}
    tones = (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 5000 * t) + np.sin(2 * np.pi * 10000 * t))

    def level(x: np.ndarray, f: float) -> float:
        spectrum = np.abs(np.fft.rfft(x[SR // 4: -SR // 4] * np.hanning(SR // 2)))
        return 20 * np.log10(spectrum[round(f / 2)] / (SR / 8))

    low, mid = lowpass(tones, SR, 3500), lowpass(tones, SR, 7000)
    assert abs(level(low, 1000)) < 0.5 and level(low, 5000) < -40 and level(low, 10000) < -60
    assert abs(level(mid, 1000)) < 0.5 and abs(level(mid, 5000)) < 0.5 and level(mid, 10000) < -40
