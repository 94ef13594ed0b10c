"""The analysis view's glue: one analysis per model that runs, failures named, spectrograms of any cell."""
from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from engine_fakes import IdentityAE, NoisyAE
from lincae.engine import Engine
from test_app import Broken, info, loader_for, make_track
from ui.analysis import Analyst, reference_title
from ui.tables import TableBuilder


@pytest.fixture
def analyst(tmp_path):
    engine = Engine(device="cpu", cache_dir=tmp_path / "cache",
                    loader=loader_for(IdentityAE("linear"), NoisyAE("noisy"), Broken("broken")))
    models = [info("linear"), info("noisy", linear=False), info("gated", available=False, reason="needs an HF token"),
              info("broken")]
    return Analyst(TableBuilder(engine, models, {"t1": make_track("t1", 0.3)}.__getitem__, cells_dir=tmp_path / "c"))


def test_each_model_that_runs_is_analysed_and_a_broken_one_is_named(analyst):
    updates = list(analyst.updates("t1"))
    # Metrics of linear, noisy, broken (fails), side by side; then the curves of linear and noisy.
    assert updates[0] == ([], "Computing the metrics of Linear, Noisy and Broken…")
    metrics_done = next(i for i, (_, line) in enumerate(updates) if "linearity curves" in line)
    assert [(a.model, bool(a.homogeneity)) for a in updates[metrics_done][0]] == [("linear", False), ("noisy", False)]
    assert updates[metrics_done][1] == "Computing the linearity curves of Linear and Noisy…"
    assert all(line.startswith("Computing the metrics") for _, line in updates[:metrics_done])
    assert all(a.homogeneity and a.additivity for a in updates[-1][0])
    done, status = updates[-1]
    assert [a.model for a in done] == ["linear", "noisy"]
    assert status.startswith("Analysed 2 model(s) on Track t1.")
    assert "broken (RuntimeError: decoder exploded)" in status
    assert "gated" not in status  # not available here: never tried


def test_spectrogram_of_a_cell_beside_its_reference(analyst):
    fig = analyst.spectrogram("t1", "scale_0_5", "noisy")
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["×0.5 Original Vocals", "Latent Scaling ×0.5 — Noisy"]
    assert reference_title("additivity") == "Original Mix" and reference_title("sep_vocals") == "Original Vocals"
